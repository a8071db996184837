"""The transfer services: every rule and every refusal, on the database."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import (
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Client,
    ClientUserObjectPermission,
    Matter,
    MatterUserObjectPermission,
)
from clients.record_types import RECORD_TYPES
from tests.factories import ClientFactory, MatterFactory, OwnerFactory, UserFactory
from tests.helpers import counts_of, snapshot
from tests.transfers.engine_support import Phases, at_step, owned_by, owners, user_shares
from transfers.engine.holdings import linked_client_ids, user_holdings
from transfers.engine.result import Verdict
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.errors import TransferInProgress, TransferRefused
from transfers.models import Transfer, TransferJob, TransferredRecord
from users import groups
from users.services import user_set_active

pytestmark = pytest.mark.django_db

RT = TransferredRecord.RecordType


def refused(code, call, **kwargs):
    """Run `call`, expect TransferRefused with `code`, and nothing changed."""
    before = snapshot()
    with pytest.raises(TransferRefused) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    assert caught.value.message
    assert snapshot() == before
    return caught.value


def moved_ids(transfer, record_type):
    return set(transfer.records.filter(record_type=record_type).values_list("record_id", flat=True))


# --- Transfer All -----------------------------------------------------------


def test_transfer_all_moves_everything_the_old_user_owns(mixed_firm, administrator):
    others_before = {
        model: {pk: owner for pk, owner in owners(model).items() if owner != mixed_firm.old.pk}
        for model in (Client, Matter, Case)
    }
    owned_before = {
        model: set(model.objects.filter(owner=mixed_firm.old).values_list("pk", flat=True))
        for model in (Client, Matter, Case)
    }

    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer

    for model in (Client, Matter, Case):
        assert not model.objects.filter(owner=mixed_firm.old).exists()
        assert (
            set(model.objects.filter(owner=mixed_firm.new).values_list("pk", flat=True))
            == (owned_before[model])
        )
        after = owners(model)
        assert all(after[pk] == owner for pk, owner in others_before[model].items())
    assert transfer.mode == Transfer.Mode.ALL
    assert counts_of(transfer)[:3] == (1, 2, 3)
    assert transfer.record_counts.shares == 3
    assert moved_ids(transfer, RT.CLIENT) == owned_before[Client]
    assert moved_ids(transfer, RT.MATTER) == owned_before[Matter]
    assert moved_ids(transfer, RT.CASE) == owned_before[Case]
    assert set(transfer.records.values_list("from_user_id", "to_user_id").distinct()) == {
        (mixed_firm.old.pk, mixed_firm.new.pk)
    }
    assert transfer.actor == administrator
    assert transfer.actor_name == "Olivia Grant"
    assert transfer.from_user_name == "Oscar Old"
    assert not transfer.deactivated_from_user
    (recipient,) = transfer.recipients.all()
    assert (recipient.to_user, recipient.to_user_name) == (mixed_firm.new, "Nora New")
    assert counts_of(recipient)[:3] == (1, 2, 3)
    assert recipient.record_counts.shares == 3


def test_transfer_all_sets_updated_at_of_moved_records_only(mixed_firm, administrator):
    untouched = Case.objects.get(pk=mixed_firm.unlinked_case.pk).updated_at
    moved_before = Case.objects.get(pk=mixed_firm.own_case.pk).updated_at
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    assert Case.objects.get(pk=mixed_firm.unlinked_case.pk).updated_at == untouched
    assert Case.objects.get(pk=mixed_firm.own_case.pk).updated_at > moved_before
    # Stamped with the receipt's own time.
    assert Case.objects.get(pk=mixed_firm.own_case.pk).updated_at == (
        Transfer.objects.get(pk=transfer.pk).created_at
    )


def test_transfer_all_moves_shares_with_deduplication(mixed_firm, administrator):
    group_shares = list(CaseGroupObjectPermission.objects.values_list())
    other_shares = user_shares(mixed_firm.other)

    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer

    assert user_shares(mixed_firm.old) == set()
    new_shares = user_shares(mixed_firm.new)
    assert (
        "ClientUserObjectPermission",
        mixed_firm.unlinked_client.pk,
        mixed_firm.share_unlinked_client.permission_id,
    ) in new_shares
    assert (
        "MatterUserObjectPermission",
        mixed_firm.others_matter_in_own.pk,
        mixed_firm.share_matter.permission_id,
    ) in new_shares
    # The new user already had this share: one row remains, theirs.
    duplicates = CaseUserObjectPermission.objects.filter(
        content_object=mixed_firm.others_case_in_own_matter,
        permission=mixed_firm.share_others_case.permission,
    )
    assert list(duplicates.values_list("pk", "user_id")) == [
        (mixed_firm.share_new_duplicate.pk, mixed_firm.new.pk)
    ]
    rows = transfer.records.filter(record_type__endswith="_share")
    assert sorted(
        rows.values_list("record_type", "record_id", "permission_id", "share_merged")
    ) == sorted(
        [
            (
                RT.CLIENT_SHARE,
                mixed_firm.unlinked_client.pk,
                mixed_firm.share_unlinked_client.permission_id,
                False,
            ),
            (
                RT.MATTER_SHARE,
                mixed_firm.others_matter_in_own.pk,
                mixed_firm.share_matter.permission_id,
                False,
            ),
            (
                RT.CASE_SHARE,
                mixed_firm.others_case_in_own_matter.pk,
                mixed_firm.share_others_case.permission_id,
                True,
            ),
        ]
    )
    assert list(CaseGroupObjectPermission.objects.values_list()) == group_shares
    assert user_shares(mixed_firm.other) == other_shares


def test_transfer_all_with_deactivation(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    ).transfer
    mixed_firm.old.refresh_from_db()
    assert not mixed_firm.old.is_active
    assert transfer.deactivated_from_user


def test_transfer_all_accepts_a_user_id_for_the_new_user(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old.pk, new_user=str(mixed_firm.new.pk)
    ).transfer
    assert transfer.recipients.get().to_user == mixed_firm.new


def test_deactivating_a_user_who_owns_nothing_is_recorded(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    transfer = records_transfer_all(
        acting_user=administrator, old_user=old, new_user=new, deactivate_old_user=True
    ).transfer
    old.refresh_from_db()
    assert not old.is_active
    assert transfer.record_count == 0


def test_request_key_returns_the_same_receipt(mixed_firm, administrator):
    first = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        request_key="k-1",
    )
    state = snapshot()
    again = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        request_key="k-1",
    )
    assert again.transfer.pk == first.transfer.pk
    assert (first.replayed, again.replayed) == (False, True)
    assert again.recipients == ()
    assert snapshot() == state
    assert Transfer.objects.count() == 1
    # A check alone of the same Save (a second click on a form that queues) answers
    # with that receipt, so the form can land on it.
    verdict = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        request_key="k-1",
        validate_only=True,
    )
    assert verdict.replayed and verdict.saved == first.transfer
    assert snapshot() == state


@pytest.mark.parametrize("validate_only", [False, True], ids=["save", "check-only"])
def test_request_key_is_checked_again_under_the_lock(mixed_firm, administrator, validate_only):
    """A Save of the same form committed between the first look and the
    lock: its receipt is returned (a check alone answers that it was saved)
    and nothing moves again."""
    saved = []

    def saved_meanwhile(**details):
        saved.append(
            Transfer.objects.create(
                mode=Transfer.Mode.ALL,
                actor=administrator,
                actor_name=administrator.full_name,
                from_user=mixed_firm.old,
                from_user_name=mixed_firm.old.full_name,
                request_key="k-2",
            )
        )

    before = owners(Client), owners(Matter), owners(Case)
    with at_step("locked", saved_meanwhile):
        again = records_transfer_all(
            acting_user=administrator,
            old_user=mixed_firm.old,
            new_user=mixed_firm.new,
            request_key="k-2",
            validate_only=validate_only,
        )
    if validate_only:
        assert again == Verdict(saved=saved[0])
    else:
        assert again.replayed and again.transfer == saved[0]
    assert (owners(Client), owners(Matter), owners(Case)) == before
    assert Transfer.objects.count() == 1


def test_dry_run_changes_nothing_and_says_what_would_move(mixed_firm, administrator):
    before = snapshot()
    preview = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
        dry_run=True,
    )
    assert snapshot() == before
    assert preview.dry_run and not preview.replayed
    receipt = preview.transfer
    assert receipt.pk is None
    assert counts_of(receipt)[:3] == (1, 2, 3)
    (recipient,) = preview.recipients
    assert recipient.to_user == mixed_firm.new and recipient.pk is None
    assert preview.client_ids == {mixed_firm.new.pk: None}


@pytest.mark.parametrize("deactivate", [False, True])
def test_transfer_all_refusals_change_nothing(mixed_firm, administrator, manager, deactivate):
    inactive = OwnerFactory(is_active=False)
    call = records_transfer_all
    base = {
        "acting_user": administrator,
        "old_user": mixed_firm.old,
        "deactivate_old_user": deactivate,
    }
    refused(
        "permission_denied",
        call,
        **{**base, "acting_user": mixed_firm.other, "new_user": mixed_firm.new},
    )
    refused(
        "permission_denied", call, **{**base, "acting_user": manager, "new_user": mixed_firm.new}
    )
    error = refused("same_user", call, **{**base, "new_user": mixed_firm.old})
    assert (error.field, error.message) == (
        "new_user",
        "The new user must be someone other than Oscar Old.",
    )
    assert refused("new_user_unknown", call, **{**base, "new_user": 987654}).field == "new_user"
    error = refused("new_user_unknown", call, **{**base, "new_user": "not-a-number"})
    assert (error.field, error.client_ids) == ("new_user", [])
    refused("permission_denied", call, **{**base, "acting_user": None, "new_user": mixed_firm.new})
    error = refused(
        "old_user_unknown", call, **{**base, "old_user": "x", "new_user": mixed_firm.new}
    )
    assert (error.field, error.message) == (None, "The user to transfer from does not exist.")
    refused("new_user_unknown", call, **{**base, "new_user": None})
    refused("old_user_unknown", call, **{**base, "old_user": 987654, "new_user": mixed_firm.new})
    error = refused("new_user_inactive", call, **{**base, "new_user": inactive})
    assert error.message == f"{inactive.full_name} is inactive and cannot be given records."
    error = refused("new_user_ineligible", call, **{**base, "new_user": manager})
    assert error.message == (
        f"{manager.full_name} is not allowed to own clients, matters or cases."
    )


def test_an_inactive_actor_may_not_transfer(mixed_firm, administrator):
    administrator.is_active = False
    refused(
        "permission_denied",
        records_transfer_all,
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
    )


def test_nothing_to_transfer(administrator):
    old, new = OwnerFactory(first_name="Ena", last_name="Nobody"), OwnerFactory()
    error = refused(
        "nothing_to_transfer",
        records_transfer_all,
        acting_user=administrator,
        old_user=old,
        new_user=new,
    )
    assert error.message == (
        "Ena Nobody owns nothing and holds no shares: there is nothing to transfer."
    )


@pytest.mark.parametrize("validate_only", [False, True], ids=["save", "check-only"])
def test_deactivating_ones_own_account_is_refused(administrator, validate_only):
    """Refused before anything moves: a check alone (a scheduled transfer's, the
    API's) says so too."""
    administrator.groups.add(Group.objects.get(name=groups.ATTORNEYS))
    own_client = ClientFactory(owner=administrator)
    new = OwnerFactory()
    error = refused(
        "deactivate_self",
        records_transfer_all,
        acting_user=administrator,
        old_user=administrator,
        new_user=new,
        deactivate_old_user=True,
        validate_only=validate_only,
    )
    assert error.field == "deactivate_old_user"
    assert error.message == "You cannot deactivate your own account."
    error = refused(
        "deactivate_self",
        records_transfer_per_client,
        acting_user=administrator,
        old_user=administrator,
        assignments={own_client.pk: new},
        deactivate_old_user=True,
        validate_only=validate_only,
    )
    assert error.field == "deactivate_old_user"
    # Without deactivation, transferring one's own records is fine.
    records_transfer_all(acting_user=administrator, old_user=administrator, new_user=new)


@pytest.mark.parametrize("validate_only", [False, True], ids=["save", "check-only"])
def test_deactivating_the_last_active_superuser_is_refused(administrator, superuser, validate_only):
    ClientFactory(owner=superuser)
    UserFactory(is_superuser=True, is_active=False)
    new = OwnerFactory()
    error = refused(
        "last_superuser",
        records_transfer_all,
        acting_user=administrator,
        old_user=superuser,
        new_user=new,
        deactivate_old_user=True,
        validate_only=validate_only,
    )
    assert error.field == "deactivate_old_user"
    assert error.message == (
        f"{superuser.full_name} is the last active superuser and cannot be deactivated."
    )
    UserFactory(is_superuser=True)
    records_transfer_all(
        acting_user=administrator, old_user=superuser, new_user=new, deactivate_old_user=True
    )


def test_deactivation_is_refused_when_records_would_remain(mixed_firm, administrator):
    """owns_records, checked under the lock after the moves: simulated by a
    case going back to the old user once the cases have moved."""
    left_behind = mixed_firm.own_case.pk

    def leave_a_case_behind(record_type, **details):
        assert record_type == RT.CASE
        Case.objects.filter(pk=left_behind).update(owner=mixed_firm.old)

    with at_step("move_owned", leave_a_case_behind, call=3):
        error = refused(
            "owns_records",
            records_transfer_all,
            acting_user=administrator,
            old_user=mixed_firm.old,
            new_user=mixed_firm.new,
            deactivate_old_user=True,
        )
    assert error.field == "deactivate_old_user"


# --- per client ---------------------------------------------------------------


def test_per_client_moves_each_clients_holdings_to_its_new_user(mixed_firm, administrator):
    third = OwnerFactory()
    linked = linked_client_ids(user=mixed_firm.old)
    assert linked == {mixed_firm.own_client.pk, mixed_firm.others_client.pk}
    unlinked_before = {
        model: list(
            model.objects.filter(client=mixed_firm.unlinked_client).values_list("pk", "owner_id")
        )
        for model in (Matter, Case)
    }

    transfer = records_transfer_per_client(
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: third.pk,
        },
        expected_client_ids=linked,
    ).transfer

    assert owners(Client)[mixed_firm.own_client.pk] == mixed_firm.new.pk
    assert owners(Client)[mixed_firm.others_client.pk] == mixed_firm.other.pk  # not the old user's
    assert owners(Matter)[mixed_firm.own_matter.pk] == mixed_firm.new.pk
    assert owners(Matter)[mixed_firm.others_matter_in_own.pk] == mixed_firm.other.pk
    assert owners(Case)[mixed_firm.own_case.pk] == mixed_firm.new.pk
    assert owners(Case)[mixed_firm.own_case_in_others_matter.pk] == mixed_firm.new.pk
    assert owners(Matter)[mixed_firm.own_matter_in_others.pk] == third.pk
    assert owners(Case)[mixed_firm.own_case_in_others.pk] == third.pk
    assert owners(Case)[mixed_firm.others_case_in_own_matter.pk] == mixed_firm.other.pk
    for model in (Client, Matter, Case):
        assert not model.objects.filter(owner=mixed_firm.old).exists()
    for model in (Matter, Case):
        assert (
            list(
                model.objects.filter(client=mixed_firm.unlinked_client).values_list(
                    "pk", "owner_id"
                )
            )
            == unlinked_before[model]
        )
    assert transfer.mode == Transfer.Mode.PER_CLIENT
    counts = {r.to_user_id: counts_of(r) for r in transfer.recipients.all()}
    # Shares: the matter share lies in own_client (-> new); the case share
    # in others_client (-> third); the client share on an unlinked client
    # stays with the old user.
    assert counts == {mixed_firm.new.pk: (1, 1, 2, 1), third.pk: (0, 1, 1, 1)}
    assert user_shares(mixed_firm.old) == {
        (
            "ClientUserObjectPermission",
            mixed_firm.unlinked_client.pk,
            mixed_firm.share_unlinked_client.permission_id,
        )
    }
    assert set(
        CaseUserObjectPermission.objects.filter(
            content_object=mixed_firm.others_case_in_own_matter
        ).values_list("user_id", flat=True)
    ) == {mixed_firm.new.pk, third.pk}
    assert set(transfer.records.values_list("to_user_id", flat=True)) == {
        mixed_firm.new.pk,
        third.pk,
    }


def test_per_client_refusals_change_nothing(mixed_firm, administrator, manager):
    inactive = OwnerFactory(is_active=False)
    call = records_transfer_per_client
    both = {mixed_firm.own_client.pk: mixed_firm.new, mixed_firm.others_client.pk: mixed_firm.new}
    base = {"acting_user": administrator, "old_user": mixed_firm.old}

    refused("permission_denied", call, **{**base, "acting_user": manager, "assignments": both})
    error = refused(
        "client_not_linked",
        call,
        **base,
        assignments={**both, mixed_firm.unlinked_client.pk: mixed_firm.new},
    )
    assert (error.field, error.client_ids) == ("assignments", [mixed_firm.unlinked_client.pk])
    assert error.message == (
        f"1 of the chosen clients are not linked to {mixed_firm.old.full_name}."
    )
    error = refused(
        "client_unassigned", call, **base, assignments={mixed_firm.own_client.pk: mixed_firm.new}
    )
    assert (error.field, error.client_ids) == ("assignments", [mixed_firm.others_client.pk])
    error = refused(
        "same_user", call, **base, assignments={**both, mixed_firm.others_client.pk: mixed_firm.old}
    )
    assert error.client_ids == [mixed_firm.others_client.pk]
    error = refused(
        "new_user_inactive", call, **base, assignments={**both, mixed_firm.own_client.pk: inactive}
    )
    assert (error.field, error.client_ids) == ("assignments", [mixed_firm.own_client.pk])
    error = refused(
        "new_user_ineligible", call, **base, assignments={**both, mixed_firm.own_client.pk: manager}
    )
    assert (error.field, error.client_ids) == ("assignments", [mixed_firm.own_client.pk])
    error = refused(
        "new_user_unknown", call, **base, assignments={**both, mixed_firm.own_client.pk: 99999}
    )
    assert (error.field, error.client_ids) == ("assignments", [mixed_firm.own_client.pk])
    error = refused(
        "new_user_unknown", call, **base, assignments={**both, mixed_firm.own_client.pk: "x"}
    )
    assert (error.field, error.client_ids) == ("assignments", [mixed_firm.own_client.pk])
    error = refused("client_not_linked", call, **base, assignments={"abc": mixed_firm.new})
    assert (error.field, error.message) == (
        "assignments",
        "The assignments name a client that does not exist.",
    )
    error = refused("old_user_unknown", call, **{**base, "old_user": "x"}, assignments=both)
    assert (error.field, error.message) == (None, "The user to transfer from does not exist.")
    refused(
        "stale_form",
        call,
        **base,
        assignments=both,
        expected_client_ids=[mixed_firm.own_client.pk],
    )
    empty_handed = OwnerFactory(first_name="Ena", last_name="Nobody")
    error = refused(
        "nothing_to_transfer", call, **{**base, "old_user": empty_handed}, assignments={}
    )
    assert error.message == (
        "Ena Nobody owns nothing and holds no shares: there is nothing to transfer."
    )


def test_per_client_reports_its_phases_and_counts(leaver_firm, administrator):
    """What a background User Transfer's progress page shows: each phase, once per new
    user, then the receipt."""

    firm, hook = leaver_firm, Phases()
    records_transfer_per_client(
        acting_user=administrator,
        old_user=firm.leaver,
        assignments={firm.acme.pk: firm.dana, firm.bolt.pk: firm.marcus, firm.crane.pk: firm.dana},
        progress=hook,
    )
    per_new_user = [*(t.plural for t in RECORD_TYPES), "shares"]
    assert hook.seen == [*per_new_user, *per_new_user, "receipt"]
    assert hook.counts.phrases(zeros=False) == ["2 clients", "3 matters", "3 cases", "1 share"]


def test_transfer_all_reports_its_phases_and_counts(mixed_firm, administrator):
    hook = Phases()
    records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        progress=hook,
    )
    assert hook.seen == [*(t.plural for t in RECORD_TYPES), "shares", "receipt"]
    assert hook.counts.phrases(zeros=False) == ["1 client", "2 matters", "3 cases", "3 shares"]


def test_per_client_deactivating_ones_own_account_is_refused(administrator):
    administrator.groups.add(Group.objects.get(name=groups.ATTORNEYS))
    client = ClientFactory(owner=administrator)
    refused(
        "deactivate_self",
        records_transfer_per_client,
        acting_user=administrator,
        old_user=administrator,
        assignments={client.pk: OwnerFactory()},
        deactivate_old_user=True,
    )


def test_stale_form_when_a_client_was_linked_meanwhile(mixed_firm, administrator):
    shown = linked_client_ids(user=mixed_firm.old)
    MatterFactory(client=mixed_firm.unlinked_client, owner=mixed_firm.old)
    error = refused(
        "stale_form",
        records_transfer_per_client,
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={pk: mixed_firm.new for pk in shown},
        expected_client_ids=shown,
    )
    assert error.message.startswith(
        f"The clients linked to {mixed_firm.old.full_name} changed since this form was opened"
    )


def test_per_client_with_deactivation(mixed_firm, administrator):
    records_transfer_per_client(
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: mixed_firm.other,
        },
        deactivate_old_user=True,
    )
    mixed_firm.old.refresh_from_db()
    assert not mixed_firm.old.is_active
    assert user_holdings(user=mixed_firm.old).records == 0


def test_per_client_request_key(mixed_firm, administrator):
    kwargs = {
        "acting_user": administrator,
        "old_user": mixed_firm.old,
        "assignments": {
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: mixed_firm.other,
        },
        "request_key": "per-client-1",
    }
    first = records_transfer_per_client(**kwargs)
    again = records_transfer_per_client(**kwargs)
    assert again.transfer.pk == first.transfer.pk and again.replayed
    assert Transfer.objects.count() == 1


# --- revert ---------------------------------------------------------------------


def test_revert_restores_ownership_shares_and_activity(mixed_firm, administrator):
    before = {model: owners(model) for model in (Client, Matter, Case)}
    shares_before = {
        user: user_shares(user) for user in (mixed_firm.old, mixed_firm.new, mixed_firm.other)
    }
    transfer = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    ).transfer

    result = transfer_revert(acting_user=administrator, transfer=transfer)
    revert = result.transfer

    assert {model: owners(model) for model in (Client, Matter, Case)} == before
    assert {
        user: user_shares(user) for user in (mixed_firm.old, mixed_firm.new, mixed_firm.other)
    } == shares_before
    mixed_firm.old.refresh_from_db()
    assert mixed_firm.old.is_active
    assert revert.mode == Transfer.Mode.REVERT
    assert revert.reverted_transfer == transfer
    assert revert.reactivated_user
    assert revert.skipped_count == 0
    assert counts_of(revert) == (
        1,
        2,
        3,
        3,
    )
    assert revert.from_user == mixed_firm.old
    stored = Transfer.objects.get(pk=revert.pk)
    assert (stored.actor, stored.actor_name) == (administrator, administrator.full_name)
    (recipient,) = revert.recipients.all()
    assert recipient.to_user == mixed_firm.old
    assert recipient.to_user_name == mixed_firm.old.full_name
    assert result.recipients == (recipient,)
    # Each record moved back is stamped with the revert's time; none of them is a share
    # that was merged.
    for model in (Client, Matter, Case):
        assert set(
            model.objects.filter(owner=mixed_firm.old).values_list("updated_at", flat=True)
        ) == {revert.created_at}
    record_rows = revert.records.filter(record_type__in=[t.name for t in RECORD_TYPES])
    assert record_rows.exists()
    assert not record_rows.filter(share_merged=True).exists()
    assert (stored.reactivated_user, stored.skipped_count) == (True, 0)
    assert set(revert.records.values_list("from_user_id", "to_user_id").distinct()) == {
        (mixed_firm.new.pk, mixed_firm.old.pk)
    }


def test_revert_leaves_records_changed_since_and_lists_them(mixed_firm, administrator):
    from clients.services import record_owner_change
    from transfers.receipts.selectors import revert_skipped_records, transfer_changed_since

    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    record_owner_change(
        acting_user=administrator, record=mixed_firm.own_case, new_owner=mixed_firm.other
    )
    CaseUserObjectPermission.objects.filter(user=mixed_firm.new).delete()
    assert {(r.record_type, r.record_id) for r in transfer_changed_since(transfer=transfer)} == {
        (RT.CASE, mixed_firm.own_case.pk),
        (RT.CASE_SHARE, mixed_firm.others_case_in_own_matter.pk),
    }

    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer

    assert owners(Case)[mixed_firm.own_case.pk] == mixed_firm.other.pk
    assert owners(Case)[mixed_firm.own_case_in_others.pk] == mixed_firm.old.pk
    assert revert.skipped_count == 2
    assert Transfer.objects.get(pk=revert.pk).skipped_count == 2
    assert revert.record_counts["case"] == 2
    assert {(r.record_type, r.record_id) for r in revert_skipped_records(revert=revert)} == {
        (RT.CASE, mixed_firm.own_case.pk),
        (RT.CASE_SHARE, mixed_firm.others_case_in_own_matter.pk),
    }


def test_a_revert_reactivates_no_one_already_active_again(mixed_firm, administrator):
    """The transfer deactivated the leaver, who was made active again by hand since:
    the revert gives the records back and says it reactivated no one."""
    transfer = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    ).transfer
    user_set_active(user=mixed_firm.old, is_active=True, acting_user=administrator)
    events_before = list(mixed_firm.old.account_events.values_list("pk", flat=True))

    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer

    stored = Transfer.objects.get(pk=revert.pk)
    assert stored.reactivated_user is False
    assert list(mixed_firm.old.account_events.values_list("pk", flat=True)) == events_before
    assert set(owners(Client).values()) >= {mixed_firm.old.pk}


def test_revert_twice_is_refused(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    transfer_revert(acting_user=administrator, transfer=transfer)
    refused("revert_not_allowed", transfer_revert, acting_user=administrator, transfer=transfer)


def test_revert_of_a_revert_moves_the_records_again(mixed_firm, administrator):
    transfer = records_transfer_per_client(
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: mixed_firm.other,
        },
    ).transfer
    after_transfer = {model: owners(model) for model in (Client, Matter, Case)}
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    redo = transfer_revert(acting_user=administrator, transfer=revert).transfer
    assert {model: owners(model) for model in (Client, Matter, Case)} == after_transfer
    assert {r.to_user_id for r in redo.recipients.all()} == {mixed_firm.new.pk, mixed_firm.other.pk}
    refused("revert_not_allowed", transfer_revert, acting_user=administrator, transfer=revert)


def test_revert_conflicts_when_the_old_user_can_no_longer_own_records(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    user_set_active(user=mixed_firm.old, is_active=False, acting_user=administrator)
    refused("revert_conflict", transfer_revert, acting_user=administrator, transfer=transfer)
    user_set_active(user=mixed_firm.old, is_active=True, acting_user=administrator)
    mixed_firm.old.groups.clear()
    refused("revert_conflict", transfer_revert, acting_user=administrator, transfer=transfer)


def test_revert_of_a_revert_conflicts_when_the_receiver_left(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    user_set_active(user=mixed_firm.new, is_active=False, acting_user=administrator)
    refused("revert_conflict", transfer_revert, acting_user=administrator, transfer=revert)


def test_revert_not_allowed_when_the_old_user_was_deleted(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    ClientFactory(owner=old)
    transfer = records_transfer_all(acting_user=administrator, old_user=old, new_user=new).transfer
    old.delete()
    transfer.refresh_from_db()
    assert transfer.from_user_name  # the receipt survives
    refused("revert_not_allowed", transfer_revert, acting_user=administrator, transfer=transfer)


def test_revert_with_everything_changed_since_is_refused(administrator):
    old, new, other = OwnerFactory(), OwnerFactory(), OwnerFactory()
    client = ClientFactory(owner=old)
    transfer = records_transfer_all(acting_user=administrator, old_user=old, new_user=new).transfer
    records_transfer_all(acting_user=administrator, old_user=new, new_user=other)
    assert owners(Client)[client.pk] == other.pk
    error = refused(
        "nothing_to_transfer", transfer_revert, acting_user=administrator, transfer=transfer
    )
    assert error.message == (
        "Everything this transfer moved has changed since: there is nothing to revert."
    )


def test_revert_of_a_transfer_deleted_meanwhile_is_refused(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    transfer_id = transfer.pk
    Transfer.objects.filter(pk=transfer_id).delete()
    error = refused(
        "revert_not_allowed", transfer_revert, acting_user=administrator, transfer=transfer_id
    )
    assert error.message == "This transfer cannot be reverted: it no longer exists."


def test_revert_needs_the_permission(mixed_firm, administrator, manager):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    refused("permission_denied", transfer_revert, acting_user=manager, transfer=transfer)


def test_revert_request_key(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    first = transfer_revert(acting_user=administrator, transfer=transfer, request_key="r-1")
    again = transfer_revert(acting_user=administrator, transfer=transfer, request_key="r-1")
    assert again.transfer == first.transfer
    assert (first.replayed, again.replayed) == (False, True)


def test_revert_gives_a_merged_share_back_and_keeps_the_receivers_own(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    transfer_revert(acting_user=administrator, transfer=transfer)
    holders = set(
        CaseUserObjectPermission.objects.filter(
            content_object=mixed_firm.others_case_in_own_matter
        ).values_list("user_id", flat=True)
    )
    assert holders == {mixed_firm.old.pk, mixed_firm.new.pk}
    assert ClientUserObjectPermission.objects.filter(
        content_object=mixed_firm.unlinked_client, user=mixed_firm.old
    ).exists()
    assert not MatterUserObjectPermission.objects.filter(user=mixed_firm.new).exists()


# --- notifications --------------------------------------------------------------


def test_each_new_owner_is_emailed_after_commit(
    mixed_firm, administrator, django_capture_on_commit_callbacks
):
    third = OwnerFactory(email="")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        records_transfer_per_client(
            acting_user=administrator,
            old_user=mixed_firm.old,
            assignments={
                mixed_firm.own_client.pk: mixed_firm.new,
                mixed_firm.others_client.pk: third,
            },
        )
    assert mail.outbox == []  # nothing before commit
    assert len(callbacks) == 1
    callbacks[0]()
    (message,) = mail.outbox  # the third user has no address
    assert message.to == [mixed_firm.new.email]
    assert "Oscar Old" in message.subject
    assert "Clients: 1" in message.body
    assert "Cases: 2" in message.body


def test_no_email_after_a_refusal_or_a_dry_run(
    mixed_firm, administrator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        records_transfer_all(
            acting_user=administrator,
            old_user=mixed_firm.old,
            new_user=mixed_firm.new,
            dry_run=True,
        )
        with pytest.raises(TransferRefused):
            records_transfer_all(
                acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.old
            )
    assert mail.outbox == []


def test_revert_emails_the_user_records_return_to(
    mixed_firm, administrator, django_capture_on_commit_callbacks
):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    with django_capture_on_commit_callbacks(execute=True):
        transfer_revert(acting_user=administrator, transfer=transfer)
    (message,) = mail.outbox
    assert message.to == [mixed_firm.old.email]
    assert f"revert of transfer #{transfer.pk}" in message.subject


# --- query counts -----------------------------------------------------------------


def _bulk_records(owner, clients: int, per_client: int = 1):
    made = Client.objects.bulk_create(
        Client(number=f"Q-{owner.pk}-{i}", name=f"Client {i}", owner=owner) for i in range(clients)
    )
    matters = Matter.objects.bulk_create(
        Matter(client=c, number=f"QM-{c.pk}-{j}", title="m", owner=owner)
        for c in made
        for j in range(per_client)
    )
    Case.objects.bulk_create(
        Case(matter=m, client_id=m.client_id, number=f"QK-{m.pk}", caption="k", owner=owner)
        for m in matters
    )
    return made


def _count_queries(django_assert_num_queries, call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_transfer_all_query_count_does_not_depend_on_the_number_of_records(administrator):
    counts = []
    for size in (10, 1000):
        old, new = OwnerFactory(), OwnerFactory()
        _bulk_records(old, size)
        admin = type(administrator).objects.get(pk=administrator.pk)
        counts.append(
            _count_queries(
                None,
                lambda old=old, new=new, admin=admin: records_transfer_all(
                    acting_user=admin, old_user=old, new_user=new, deactivate_old_user=True
                ),
            )
        )
        assert not Client.objects.filter(owner=old).exists()
    assert counts[0] == counts[1]
    assert counts[0] <= 35


def test_revert_moves_each_type_back_in_one_update_whatever_the_number_of_records(
    administrator,
):
    """One UPDATE per record type, on the revert's own rows in id order. A lookup per
    record could, right after a transfer whose rows the receipts' statistics do not
    know yet, scan the whole transfer for each record (docs/indexes.md)."""
    record_updates = tuple(f'UPDATE "{model._meta.db_table}" ' for model in (Client, Matter, Case))
    counts = []
    for size in (10, 300):
        old, new = OwnerFactory(), OwnerFactory()
        _bulk_records(old, size)
        admin = type(administrator).objects.get(pk=administrator.pk)
        transfer = records_transfer_all(acting_user=admin, old_user=old, new_user=new).transfer
        with CaptureQueriesContext(connection) as queries:
            revert = transfer_revert(acting_user=admin, transfer=transfer).transfer
        updates = [q["sql"] for q in queries if q["sql"].startswith(record_updates)]
        assert len(updates) == 3
        assert all("IN (SELECT DISTINCT" in sql and "ORDER BY" in sql for sql in updates)
        assert revert.record_count == 3 * size
        assert owned_by(old) == 3 * size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_per_client_query_count_grows_only_with_the_new_users(administrator):
    def run(clients: int, receivers: int) -> int:
        old = OwnerFactory()
        made = _bulk_records(old, clients)
        targets = [OwnerFactory() for _ in range(receivers)]
        plan = {client.pk: targets[i % receivers] for i, client in enumerate(made)}
        admin = type(administrator).objects.get(pk=administrator.pk)
        return _count_queries(
            None,
            lambda: records_transfer_per_client(acting_user=admin, old_user=old, assignments=plan),
        )

    two_small, two_large, three_large = run(10, 2), run(200, 2), run(200, 3)
    assert two_small == two_large
    assert three_large > two_large
    # One more new user: per record type its receipt rows, its move and its shares.
    assert three_large - two_large <= 3 * len(RECORD_TYPES)


def test_receipt_rows_follow_a_deleted_permission_and_transfer(mixed_firm, administrator):
    """Receipt rows carry no database check on their transfer and permission (each
    would cost every row of a large transfer): Django's cascade still removes them."""
    from django.contrib.auth.models import Permission

    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    shared = transfer.records.filter(record_type=RT.CASE_SHARE)
    permission_id = shared.values_list("permission_id", flat=True)[0]
    others = transfer.records.exclude(permission_id=permission_id).count()

    Permission.objects.get(pk=permission_id).delete()

    assert not TransferredRecord.objects.filter(permission_id=permission_id).exists()
    assert transfer.records.count() == others > 0
    transfer_id = transfer.pk
    transfer.delete()
    assert not TransferredRecord.objects.filter(transfer_id=transfer_id).exists()


@pytest.mark.parametrize(
    ("status", "refusal"),
    [
        (TransferJob.Status.RUNNING, None),
        (TransferJob.Status.CANCELLED, "job_ended"),
        (TransferJob.Status.QUEUED, "job_ended"),
    ],
)
def test_a_jobs_own_run_goes_on_only_while_its_job_is_running(
    mixed_firm, administrator, status, refusal
):
    """The worker runs a job through the service with the job's request_key: that job
    does not hold its own run back, but one cancelled (or not started) meanwhile does."""
    job = TransferJob.objects.create(
        mode=Transfer.Mode.ALL,
        status=status,
        actor=administrator,
        from_user=mixed_firm.old,
        request_key="job-1",
    )
    # Another user's job holds back no one else.
    TransferJob.objects.create(
        mode=Transfer.Mode.ALL, actor=administrator, from_user=mixed_firm.other, request_key="o-1"
    )
    run = {
        "acting_user": administrator,
        "old_user": mixed_firm.old,
        "new_user": mixed_firm.new,
        "request_key": "job-1",
    }
    if refusal is None:
        assert records_transfer_all(**run).transfer.request_key == "job-1"
    else:
        error = refused(refusal, records_transfer_all, **run)
        assert error.message == (
            f"This transfer was ended before it could run ({status.label.lower()}); "
            "nothing was changed."
        )
    another_save = {**run, "request_key": "other-form"}
    if status in TransferJob.ACTIVE:  # any other transfer of the user is held back by it
        with pytest.raises(TransferInProgress) as held_back:
            records_transfer_all(**another_save)
        assert held_back.value.job == job
    else:  # an ended job holds back nothing
        assert records_transfer_all(**another_save).transfer.request_key == "other-form"
