"""Deadlines travel with their matter: Transfer All, per client and revert move
the old user's deadlines (done ones too, keeping who completed them), and the
receipt's counts, rows and CSV include them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import Deadline
from clients.services import deadline_status_set
from tests.factories import (
    CaseFactory,
    ClientFactory,
    DeadlineFactory,
    MatterFactory,
    OwnerFactory,
)
from transfers.engine.holdings import linked_client_ids, user_holdings
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.receipts.receipt_csv import receipt_csv_lines
from transfers.receipts.selectors import transfer_records

pytestmark = pytest.mark.django_db


def owner_of(deadline) -> int:
    return Deadline.objects.values_list("owner_id", flat=True).get(pk=deadline.pk)


@pytest.fixture
def book(administrator):
    """Oscar owns two clients, each with a matter, a case and deadlines (one done, one
    overdue); Otto owns a client where Oscar holds only a deadline; Nora and Ned take over."""

    class Book:
        pass

    book = Book()
    book.oscar = OwnerFactory(first_name="Oscar", last_name="Old")
    book.otto = OwnerFactory(first_name="Otto", last_name="Other")
    book.nora = OwnerFactory(first_name="Nora", last_name="New")
    book.ned = OwnerFactory(first_name="Ned", last_name="Next")
    book.clients, book.deadlines = [], []
    today = timezone.localdate()
    for index in range(2):
        client = ClientFactory(owner=book.oscar, name=f"Client {index}")
        matter = MatterFactory(client=client, owner=book.oscar)
        case = CaseFactory(matter=matter, owner=book.oscar)
        overdue = DeadlineFactory(
            matter=matter, case=case, owner=book.oscar, due_date=today - datetime.timedelta(2)
        )
        done = DeadlineFactory(matter=matter, case=None, owner=book.oscar)
        deadline_status_set(acting_user=administrator, deadline=done, status="done")
        book.clients.append(client)
        book.deadlines += [overdue, done]
    book.others_client = ClientFactory(owner=book.otto, name="Otto's client")
    others_matter = MatterFactory(client=book.others_client, owner=book.otto)
    book.held_deadline = DeadlineFactory(matter=others_matter, case=None, owner=book.oscar)
    book.untouched = DeadlineFactory(matter=others_matter, case=None, owner=book.otto)
    return book


def test_transfer_all_moves_every_deadline_of_the_old_user_done_ones_too(book, administrator):
    transfer = records_transfer_all(
        acting_user=administrator,
        old_user=book.oscar,
        new_user=book.nora,
        deactivate_old_user=True,
    ).transfer

    assert not Deadline.objects.filter(owner=book.oscar).exists()
    assert {owner_of(d) for d in [*book.deadlines, book.held_deadline]} == {book.nora.pk}
    assert owner_of(book.untouched) == book.otto.pk
    done = Deadline.objects.filter(status="done")
    assert set(done.values_list("completed_by_name", flat=True)) == {"Olivia Grant"}
    assert transfer.deactivated_from_user
    assert transfer.record_counts["deadline"] == 5
    assert transfer.recipients.get().record_counts["deadline"] == 5
    assert transfer.record_count == 2 + 2 + 2 + 5  # clients, matters, cases, deadlines
    assert {
        row.record_id for row in transfer_records(transfer=transfer, record_type="deadline")
    } == {d.pk for d in [*book.deadlines, book.held_deadline]}


def test_holdings_count_deadlines_and_a_deadline_links_its_client(book):
    assert user_holdings(user=book.oscar)["deadline"] == 5
    # Oscar holds nothing else under Otto's client: its User Transfer row is there for it.
    assert set(linked_client_ids(user=book.oscar)) == {
        *(client.pk for client in book.clients),
        book.others_client.pk,
    }


def test_per_client_sends_each_clients_deadlines_to_its_new_user_and_revert_brings_them_back(
    book, administrator
):
    plan = {
        book.clients[0].pk: book.nora,
        book.clients[1].pk: book.ned,
        book.others_client.pk: book.ned,
    }
    transfer = records_transfer_per_client(
        acting_user=administrator,
        old_user=book.oscar,
        assignments=plan,
        expected_client_ids=sorted(plan),
    ).transfer

    assert [owner_of(d) for d in book.deadlines] == [book.nora.pk] * 2 + [book.ned.pk] * 2
    assert owner_of(book.held_deadline) == book.ned.pk
    assert owner_of(book.untouched) == book.otto.pk
    by_user = {r.to_user_id: r.record_counts["deadline"] for r in transfer.recipients.all()}
    assert by_user == {book.nora.pk: 2, book.ned.pk: 3}
    lines = list(receipt_csv_lines(transfer))[1:]
    deadline_rows = [line.split(",") for line in lines if line.split(",")[1] == "deadline"]
    assert {int(row[2]) for row in deadline_rows} == {
        d.pk for d in [*book.deadlines, book.held_deadline]
    }
    assert all(row[3] == "" for row in deadline_rows)  # a deadline has no number

    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    assert {owner_of(d) for d in [*book.deadlines, book.held_deadline]} == {book.oscar.pk}
    assert revert.record_counts["deadline"] == 5


@pytest.mark.parametrize("size", [1, 25])
def test_the_query_count_of_a_transfer_does_not_grow_with_its_deadlines(administrator, size):
    counts = []
    for deadlines in (size, size * 4):
        old, new = OwnerFactory(), OwnerFactory()
        matter = MatterFactory(client=ClientFactory(owner=old), owner=old)
        DeadlineFactory.create_batch(deadlines, matter=matter, case=None, owner=old)
        admin = type(administrator).objects.get(pk=administrator.pk)  # no permission cache
        with CaptureQueriesContext(connection) as queries:
            records_transfer_all(acting_user=admin, old_user=old, new_user=new)
        counts.append(len(queries))
        assert not Deadline.objects.filter(owner=old).exists()
    assert counts[0] == counts[1]


def test_the_receipt_and_the_deadline_page_show_the_move(book, administrator, admin_http):
    transfer = records_transfer_all(
        acting_user=administrator, old_user=book.oscar, new_user=book.nora
    ).transfer
    receipt = admin_http.get(transfer.get_absolute_url()).content.decode()
    moved = book.deadlines[0]
    assert f'href="{moved.get_absolute_url()}"' in receipt
    assert moved.title in receipt
    page = admin_http.get(moved.get_absolute_url()).content.decode()
    history = page.split("Ownership history", 1)[1]
    assert "Oscar Old" in history and "Nora New" in history
