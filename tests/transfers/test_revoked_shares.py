"""No shares left behind: a transfer that deactivates the old user revokes the
explicit shares it does not move (those outside the clients it moves), in the
same transaction, lists each on its receipt, and its revert gives them back."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clients.models import (
    CaseUserObjectPermission,
    Client,
    ClientUserObjectPermission,
    DeadlineUserObjectPermission,
    MatterUserObjectPermission,
)
from clients.record_types import RECORD_TYPES
from tests.factories import (
    CaseFactory,
    CaseShareFactory,
    ClientFactory,
    ClientShareFactory,
    DeadlineFactory,
    MatterFactory,
    MatterShareFactory,
    OwnerFactory,
)
from tests.helpers import permission
from tests.transfers.engine_support import user_shares
from transfers.engine.holdings import user_holdings, user_holdings_and_shares_outside
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.models import TransferredRecord
from transfers.receipts.selectors import (
    revert_skipped_records,
    transfer_changed_since,
    transfer_revert_refusal,
)

pytestmark = pytest.mark.django_db

RT = TransferredRecord.RecordType


def outside_shares(firm):
    """Give the old user of `firm` a share of every type under Crane, the client
    nobody of theirs is under (besides the client share the firm has): four shares
    outside the clients linked to them. Returns them as user_shares names them."""
    crane = firm.unlinked_client
    deadline = DeadlineFactory(case=None, matter=firm.unlinked_matter, owner=firm.other)
    made = [
        MatterShareFactory(content_object=firm.unlinked_matter, user=firm.old),
        CaseShareFactory(content_object=firm.unlinked_case, user=firm.old),
        CaseShareFactory(
            content_object=firm.unlinked_case, user=firm.old, permission=permission("change_case")
        ),
        DeadlineUserObjectPermission.objects.create(
            content_object=deadline, user=firm.old, permission=permission("view_deadline")
        ),
    ]
    shares = {firm.share_unlinked_client, *made}
    assert {s.content_object.pk for s in shares if isinstance(s, ClientUserObjectPermission)} == {
        crane.pk
    }
    return {(type(s).__name__, s.content_object_id, s.permission_id) for s in shares}


def per_client(firm, administrator, *, deactivate=True):
    return records_transfer_per_client(
        acting_user=administrator,
        old_user=firm.old,
        assignments={firm.own_client.pk: firm.new, firm.others_client.pk: firm.other},
        deactivate_old_user=deactivate,
    ).transfer


def revoked_rows(transfer):
    return {
        (row.record_type, row.record_id, row.permission_id, row.from_user_id, row.to_user_id)
        for row in transfer.records.filter(share_revoked=True)
    }


SHARE_TYPE_OF = {t.user_share_model.__name__: t.share_name for t in RECORD_TYPES}


def test_a_deactivating_transfer_revokes_the_shares_outside_the_clients_it_moves(
    mixed_firm, administrator
):
    outside = outside_shares(mixed_firm)
    holdings, revocable = user_holdings_and_shares_outside(user=mixed_firm.old)
    assert (holdings.shares, revocable) == (7, 5)  # what the form says beforehand
    others_before = {user: user_shares(user) for user in (mixed_firm.new, mixed_firm.other)}

    transfer = per_client(mixed_firm, administrator)

    assert user_shares(mixed_firm.old) == set()
    assert user_holdings(user=mixed_firm.old).shares == 0  # the user page's "0 explicit shares"
    assert transfer.revoked_share_count == 5
    # Revoked, not merged into anyone's: the receipt and its CSV say only "revoked".
    assert not transfer.records.filter(share_revoked=True, share_merged=True).exists()
    assert revoked_rows(transfer) == {
        (SHARE_TYPE_OF[model], record_id, permission_id, mixed_firm.old.pk, None)
        for model, record_id, permission_id in outside
    }
    # The shares inside the moved clients moved as before and are counted as moved.
    assert transfer.record_counts.shares == 2
    assert not transfer.records.filter(share_revoked=False, to_user=None).exists()
    # The new users gain the shares within their clients and lose none of their own.
    matter_share, case_share = mixed_firm.share_matter, mixed_firm.share_others_case
    assert user_shares(mixed_firm.new) == others_before[mixed_firm.new] | {
        ("MatterUserObjectPermission", matter_share.content_object_id, matter_share.permission_id)
    }
    assert user_shares(mixed_firm.other) == others_before[mixed_firm.other] | {
        ("CaseUserObjectPermission", case_share.content_object_id, case_share.permission_id)
    }
    mixed_firm.old.refresh_from_db()
    assert not mixed_firm.old.is_active


def test_without_deactivation_nothing_is_revoked(mixed_firm, administrator):
    outside = outside_shares(mixed_firm)

    transfer = per_client(mixed_firm, administrator, deactivate=False)

    assert user_shares(mixed_firm.old) == outside
    assert transfer.revoked_share_count == 0
    assert not transfer.records.filter(share_revoked=True).exists()


def test_transfer_all_moves_every_share_so_it_revokes_none(mixed_firm, administrator):
    outside = outside_shares(mixed_firm)

    transfer = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    ).transfer

    assert user_shares(mixed_firm.old) == set()
    assert transfer.revoked_share_count == 0
    assert not transfer.records.filter(share_revoked=True).exists()
    assert outside <= {
        (model, record_id, permission_id)
        for model, record_id, permission_id in user_shares(mixed_firm.new)
    }


def test_a_deactivating_transfer_of_a_user_linked_to_no_client_revokes_all_their_shares(
    administrator,
):
    sharer, owner = OwnerFactory(), OwnerFactory()
    client = ClientFactory(owner=owner)
    ClientShareFactory(content_object=client, user=sharer)
    transfer = records_transfer_per_client(
        acting_user=administrator, old_user=sharer, assignments={}, deactivate_old_user=True
    ).transfer
    assert transfer.revoked_share_count == 1
    assert not ClientUserObjectPermission.objects.filter(user=sharer).exists()
    transfer_revert(acting_user=administrator, transfer=transfer)
    assert ClientUserObjectPermission.objects.filter(user=sharer, content_object=client).exists()


def test_revert_gives_every_revoked_share_back(mixed_firm, administrator):
    outside_shares(mixed_firm)
    before = {
        user: user_shares(user) for user in (mixed_firm.old, mixed_firm.new, mixed_firm.other)
    }
    transfer = per_client(mixed_firm, administrator)
    assert transfer_changed_since(transfer=transfer).count() == 0

    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer

    after = {user: user_shares(user) for user in before}
    assert after == before
    assert revert.reactivated_user and revert.revoked_share_count == 5
    assert revert.skipped_count == 0 and not revert_skipped_records(revert=revert).exists()
    given_back = revert.records.filter(share_revoked=True)
    assert given_back.count() == 5
    assert set(given_back.values_list("from_user_id", "to_user_id", "share_merged")) == {
        (None, mixed_firm.old.pk, False)
    }
    # The records and shares that moved back are counted per user as before;
    # the shares given back are counted apart, not as moved from anybody.
    (recipient,) = revert.recipients.all()
    assert recipient.to_user == mixed_firm.old
    assert recipient.record_counts.shares == transfer.record_counts.shares == 2


def test_revert_leaves_a_share_granted_again_meanwhile_as_it_is(mixed_firm, administrator):
    outside_shares(mixed_firm)
    transfer = per_client(mixed_firm, administrator)
    # Someone gives the old user one of the revoked shares again.
    ClientShareFactory(content_object=mixed_firm.unlinked_client, user=mixed_firm.old)

    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer

    assert (
        ClientUserObjectPermission.objects.filter(
            user=mixed_firm.old, content_object=mixed_firm.unlinked_client
        ).count()
        == 1
    )
    merged = revert.records.get(share_revoked=True, record_type=RT.CLIENT_SHARE)
    assert merged.share_merged
    assert revert.revoked_share_count == 5
    assert len(user_shares(mixed_firm.old)) == 7


def test_revert_skips_a_revoked_share_whose_record_was_deleted(mixed_firm, administrator):
    outside_shares(mixed_firm)
    transfer = per_client(mixed_firm, administrator)
    case_id = mixed_firm.unlinked_case.pk
    mixed_firm.unlinked_case.delete()
    changed = transfer_changed_since(transfer=transfer)
    assert set(changed.values_list("record_type", "record_id")) == {(RT.CASE_SHARE, case_id)}

    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer

    assert revert.revoked_share_count == 3
    assert revert.skipped_count == 2
    skipped = revert_skipped_records(revert=revert)
    assert set(skipped.values_list("record_type", "record_id")) == {(RT.CASE_SHARE, case_id)}
    assert (
        not CaseUserObjectPermission.objects.filter(user=mixed_firm.old)
        .filter(content_object_id=case_id)
        .exists()
    )


def test_a_revert_of_the_revert_is_allowed_and_leaves_the_given_back_shares(
    mixed_firm, administrator
):
    outside = outside_shares(mixed_firm)
    transfer = per_client(mixed_firm, administrator)
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    assert transfer_revert_refusal(transfer=revert) is None

    again = transfer_revert(acting_user=administrator, transfer=revert).transfer

    # The records move again; the old user, active now, keeps the shares given back.
    assert again.revoked_share_count == 0
    assert outside <= user_shares(mixed_firm.old)
    assert not Client.objects.filter(owner=mixed_firm.old).exists()


def _outside_sharer(size: int):
    """A user owning one client, with `size` shares of every type on a colleague's client."""
    old, colleague, new = OwnerFactory(), OwnerFactory(), OwnerFactory()
    own = ClientFactory(owner=old)
    MatterFactory(client=own, owner=old)
    clients = Client.objects.bulk_create(
        Client(number=f"S-{old.pk}-{i}", name=f"Shared {i}", owner=colleague) for i in range(size)
    )
    view_client = permission("view_client")
    ClientUserObjectPermission.objects.bulk_create(
        ClientUserObjectPermission(content_object=c, user=old, permission=view_client)
        for c in clients
    )
    matter = MatterFactory(client=clients[0], owner=colleague)
    view_matter, view_case = permission("view_matter"), permission("view_case")
    for _ in range(size):
        m = MatterFactory(client=clients[0], owner=colleague)
        MatterUserObjectPermission.objects.create(
            content_object=m, user=old, permission=view_matter
        )
        k = CaseFactory(matter=matter, owner=colleague)
        CaseUserObjectPermission.objects.create(content_object=k, user=old, permission=view_case)
    return old, new, own


def test_the_query_count_does_not_depend_on_the_number_of_shares_revoked(administrator):
    counts = []
    for size in (2, 60):
        old, new, own = _outside_sharer(size)
        admin = type(administrator).objects.get(pk=administrator.pk)
        with CaptureQueriesContext(connection) as transfer_queries:
            transfer = records_transfer_per_client(
                acting_user=admin, old_user=old, assignments={own.pk: new}, deactivate_old_user=True
            ).transfer
        assert transfer.revoked_share_count == 3 * size
        assert user_holdings(user=old).shares == 0
        with CaptureQueriesContext(connection) as revert_queries:
            revert = transfer_revert(acting_user=admin, transfer=transfer).transfer
        assert revert.revoked_share_count == 3 * size
        assert user_holdings(user=old).shares == 3 * size
        counts.append((len(transfer_queries), len(revert_queries)))
    assert counts[0] == counts[1], counts
