"""Reads of the transfer engine: holdings, linked clients, receipts, history."""

import csv
import io

import pytest
from django.utils import timezone

from clients.models import Client, ClientUserObjectPermission, MatterUserObjectPermission
from tests.factories import (
    CaseFactory,
    ClientFactory,
    ClientShareFactory,
    MatterFactory,
    MatterShareFactory,
    OwnerFactory,
)
from tests.helpers import permission
from transfers.engine.holdings import held_counts, linked_clients, user_holdings
from transfers.engine.services import records_transfer_all, transfer_revert
from transfers.models import Transfer, TransferredRecord
from transfers.receipts.receipt_csv import receipt_csv_lines
from transfers.receipts.selectors import (
    _record_field,
    transfer_changed_since,
    transfer_list,
    transfer_records,
    transfer_revert_refusal,
)
from users.models import User
from users.services import user_set_active

pytestmark = pytest.mark.django_db

RT = TransferredRecord.RecordType


def test_user_holdings_in_one_query(mixed_firm, django_assert_num_queries):
    with django_assert_num_queries(1):
        holdings = user_holdings(user=mixed_firm.old)
    assert holdings.to_json() == {"client": 1, "matter": 2, "case": 3, "deadline": 0, "shares": 3}
    assert holdings.records == 6
    assert holdings.total == 9
    assert user_holdings(user=OwnerFactory()).total == 0


def held(client: int, matters: int, cases: int) -> dict:
    return {"client": client, "matter": matters, "case": cases, "deadline": 0, "shares": 0}


def test_linked_clients_in_one_query_with_what_the_user_holds(
    mixed_firm, django_assert_num_queries
):
    with django_assert_num_queries(1):
        rows = [
            (c.pk, held_counts(c).to_json(), c.owner.username)
            for c in linked_clients(user=mixed_firm.old)
        ]
    assert rows == [
        (mixed_firm.own_client.pk, held(1, 1, 2), "old.owner"),  # Acme
        (mixed_firm.others_client.pk, held(0, 1, 1), "other.owner"),  # Brown
    ]


def test_linked_clients_query_count_is_bounded_for_many_clients(django_assert_num_queries):
    old = OwnerFactory()
    other = OwnerFactory()
    clients = Client.objects.bulk_create(
        Client(number=f"L-{i}", name=f"Linked {i:04d}", owner=other if i % 2 else old)
        for i in range(300)
    )
    for client in clients[:20]:
        MatterFactory(client=client, owner=old)
    with django_assert_num_queries(1):
        assert len(list(linked_clients(user=old))) == 160


def test_transfer_records_are_ordered_and_labelled(
    mixed_firm, administrator, django_assert_num_queries
):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    with django_assert_num_queries(1):
        rows = list(transfer_records(transfer=transfer))
    types = [row.record_type for row in rows]
    assert types == [RT.CLIENT, RT.MATTER, RT.MATTER, RT.CASE, RT.CASE, RT.CASE] + sorted(
        types[6:], key=[RT.CLIENT_SHARE, RT.MATTER_SHARE, RT.CASE_SHARE].index
    )
    assert rows[0].record_number == mixed_firm.own_client.number
    assert rows[0].record_label == "Acme"
    assert rows[0].current_owner_id == mixed_firm.new.pk
    assert rows[0].to_user == mixed_firm.new
    cases = list(transfer_records(transfer=transfer, record_type=RT.CASE))
    assert [row.record_id for row in cases] == sorted(row.record_id for row in cases)


def test_transfer_changed_since_follows_later_changes(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    assert not transfer_changed_since(transfer=transfer).exists()
    records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.new, new_user=mixed_firm.other
    )
    # Everything moved on, the new user's own (merged) share included.
    assert transfer_changed_since(transfer=transfer).count() == transfer.records.count() == 9


def test_transfer_revert_refusal(mixed_firm, administrator, manager):
    transfer = records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    ).transfer
    assert transfer_revert_refusal(transfer=transfer) is None  # reactivates the old user
    assert transfer_revert_refusal(transfer=transfer, acting_user=manager).code == (
        "permission_denied"
    )
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    assert transfer_revert_refusal(transfer=transfer).code == "revert_not_allowed"
    assert transfer_revert_refusal(transfer=revert) is None
    user_set_active(user=mixed_firm.new, is_active=False, acting_user=administrator)
    assert transfer_revert_refusal(transfer=revert).code == "revert_conflict"


def test_transfer_list_searches_the_recorded_names(mixed_firm, administrator):
    first = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    old, new = OwnerFactory(first_name="Zed", last_name="Zulu"), OwnerFactory()
    CaseFactory(matter=MatterFactory(client=ClientFactory(owner=old), owner=old), owner=old)
    second = records_transfer_all(acting_user=administrator, old_user=old, new_user=new).transfer
    assert list(transfer_list()) == [second, first]
    assert list(transfer_list(search="zulu")) == [second]
    assert list(transfer_list(search="Nora")) == [first]  # a recipient
    assert list(transfer_list(search="olivia")) == [second, first]  # the actor
    assert list(transfer_list(search="  ")) == [second, first]
    row = transfer_list(search="Nora").get()
    assert row.recipient_count == 1
    assert row.is_reverted is False


def test_receipts_survive_the_deletion_of_the_users(administrator):
    old, new, third = (
        OwnerFactory(first_name="Ann", last_name="Old"),
        OwnerFactory(),
        OwnerFactory(),
    )
    ClientFactory(owner=old)
    transfer = records_transfer_all(acting_user=administrator, old_user=old, new_user=new).transfer
    records_transfer_all(acting_user=administrator, old_user=new, new_user=third)
    old.delete()
    new_name = new.full_name
    new.delete()
    transfer = Transfer.objects.get(pk=transfer.pk)
    assert transfer.from_user is None and transfer.from_user_name == "Ann Old"
    assert transfer.recipients.get().to_user_name == new_name
    assert transfer.records.get().to_user is None
    # The CSV names them as the receipt does, and a deleted record's number is an empty
    # cell, not "None".
    Client.objects.all().delete()
    header, row = csv.reader(io.StringIO("".join(receipt_csv_lines(transfer))))
    row = dict(zip(header, row, strict=True))
    assert (row["from_user"], row["to_user"]) == ("Ann Old", new_name)
    assert (row["record_type"], row["record_number"], row["permission"]) == ("client", "", "")


def test_a_reverts_csv_names_who_the_records_came_back_from_and_to(administrator):
    old = OwnerFactory(first_name="Ann", last_name="Old")
    new = OwnerFactory(first_name="Ned", last_name="New")
    ClientFactory(owner=old, number="C-BACK")
    transfer = records_transfer_all(acting_user=administrator, old_user=old, new_user=new).transfer
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer

    def csv_row(receipt):
        header, row = csv.reader(io.StringIO("".join(receipt_csv_lines(receipt))))
        return dict(zip(header, row, strict=True))

    assert (csv_row(revert)["from_user"], csv_row(revert)["to_user"]) == ("Ned New", "Ann Old")
    new.delete()  # owns nothing since the revert
    row = csv_row(Transfer.objects.get(pk=revert.pk))
    assert (row["from_user"], row["to_user"], row["record_number"]) == (
        "Deleted user",
        "Ann Old",
        "C-BACK",
    )


def test_why_a_transfer_cannot_be_reverted_names_the_user(administrator):
    """Each refusal says what stands in the way and who; a suspended user the
    records would not go back to stands in no one's way."""
    old = OwnerFactory(first_name="Ann", last_name="Old")
    new = OwnerFactory(first_name="Ned", last_name="New")
    ClientFactory(owner=old)
    transfer = records_transfer_all(acting_user=administrator, old_user=old, new_user=new).transfer
    OwnerFactory(first_name="Sue", last_name="Bystander", sign_in_suspended_at=timezone.now())
    assert transfer_revert_refusal(transfer=transfer) is None

    User.objects.filter(pk=old.pk).update(sign_in_suspended_at=timezone.now())
    assert transfer_revert_refusal(transfer=transfer).message == (
        "This transfer cannot be reverted: Ann Old's sign-in is suspended, so they cannot be "
        "given records. Restore their sign-in first."
    )
    User.objects.filter(pk=old.pk).update(sign_in_suspended_at=None, is_active=False)
    assert transfer_revert_refusal(transfer=transfer).message == (
        "This transfer cannot be reverted: Ann Old is inactive and cannot be given records."
    )
    User.objects.filter(pk=old.pk).update(is_active=True)

    # Reverted, then the user the revert took the records from is deleted: the revert
    # itself cannot be reverted, though the user it gave them back to still exists.
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    new.delete()
    revert = Transfer.objects.get(pk=revert.pk)
    assert revert.from_user_id == old.pk
    assert transfer_revert_refusal(transfer=revert).message == (
        "This transfer cannot be reverted: a user the records came from has been deleted since."
    )


def test_a_record_deleted_since_has_an_empty_number_and_label_and_no_owner(
    mixed_firm, administrator
):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    deleted_pk = mixed_firm.own_case_in_others.pk
    mixed_firm.own_case_in_others.delete()

    (row,) = [
        r
        for r in transfer_records(transfer=transfer, record_type=RT.CASE)
        if r.record_id == deleted_pk
    ]
    assert (row.record_number, row.record_label, row.current_owner_id) == ("", "", None)


def test_a_type_without_the_field_leaves_the_types_after_it_their_values(mixed_firm, administrator):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    numbers = _record_field(
        lambda record_type: None if record_type.name == RT.MATTER else record_type.number_field
    )
    rows = TransferredRecord.objects.filter(transfer=transfer).annotate(number=numbers)
    by_type = {}
    for row in rows.filter(record_type__in=[RT.CLIENT, RT.MATTER, RT.CASE]):
        by_type.setdefault(row.record_type, set()).add(row.number)
    assert by_type == {
        RT.CLIENT: {mixed_firm.own_client.number},
        RT.MATTER: {""},
        RT.CASE: {
            mixed_firm.own_case.number,
            mixed_firm.own_case_in_others.number,
            mixed_firm.own_case_in_others_matter.number,
        },
    }


def test_a_share_is_changed_since_unless_the_receiver_holds_that_very_share(
    mixed_firm, administrator
):
    """The receiver holding another permission on the record, or the permission on
    another record, is not holding the share the transfer gave."""
    transfer = records_transfer_all(
        acting_user=administrator, old_user=mixed_firm.old, new_user=mixed_firm.new
    ).transfer
    MatterUserObjectPermission.objects.filter(
        user=mixed_firm.new, content_object=mixed_firm.others_matter_in_own
    ).delete()
    MatterShareFactory(
        content_object=mixed_firm.others_matter_in_own,
        user=mixed_firm.new,
        permission=permission("view_matter"),
    )
    ClientUserObjectPermission.objects.filter(
        user=mixed_firm.new, content_object=mixed_firm.unlinked_client
    ).delete()
    ClientShareFactory(
        content_object=mixed_firm.others_client,
        user=mixed_firm.new,
        permission=mixed_firm.share_unlinked_client.permission,
    )

    assert {(r.record_type, r.record_id) for r in transfer_changed_since(transfer=transfer)} == {
        (RT.MATTER_SHARE, mixed_firm.others_matter_in_own.pk),
        (RT.CLIENT_SHARE, mixed_firm.unlinked_client.pk),
    }
