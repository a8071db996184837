"""User Transfer with a big book in headless Chromium: 1,000 linked clients
among 200 eligible users, split with "Assign all to" and with Distribute, then
saved; the filter, the selection and the preview on a small book. Each test
checks the database afterwards."""

import re

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from clients.models import Case, Client, Matter
from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory
from transfers.engine.distribution import client_distribution
from transfers.models import Transfer
from users import groups
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

BOOK = 1_000
ELIGIBLE = 200
BIG_PAGE_WAIT = 30_000  # ms


def per_client_path(user):
    return f"/settings/transfers/users/{user.pk}/per-client/"


def big_book(leaver) -> list[int]:
    """BOOK clients of the leaver; every tenth has a matter with 1 to 9 cases."""
    clients = Client.objects.bulk_create(
        [
            Client(number=f"C-{i:05d}", name=f"Book client {i:05d}", owner=leaver)
            for i in range(BOOK)
        ]
    )
    with_matters = clients[::10]
    matters = Matter.objects.bulk_create(
        [
            Matter(client=client, number=f"M-{client.number}", title="Matter", owner=leaver)
            for client in with_matters
        ]
    )
    Case.objects.bulk_create(
        [
            Case(
                matter=matter,
                client=matter.client,
                number=f"K-{matter.number}-{k}",
                caption="Case",
                owner=leaver,
            )
            for position, matter in enumerate(matters)
            for k in range(1 + position % 9)
        ]
    )
    return [client.pk for client in clients]


def colleagues(count):
    """`count` eligible users (attorneys), made in bulk."""
    users = User.objects.bulk_create(
        [
            User(username=f"staff{i:03d}", first_name="Staff", last_name=f"{i:03d}", password="!")
            for i in range(count)
        ]
    )
    Group.objects.get(name=groups.ATTORNEYS).user_set.add(*users)
    return users


def test_assign_all_then_save_with_1000_clients(live_server, page, signed_in_page, administrator):
    leaver = OwnerFactory(username="lena.book", first_name="Lena", last_name="Book")
    nina = OwnerFactory(username="nina.park", first_name="Nina", last_name="Park")
    colleagues(ELIGIBLE - 1)
    client_ids = big_book(leaver)

    page = signed_in_page(administrator, per_client_path(leaver))
    expect(page.get_by_role("heading", name="User Transfer", exact=True)).to_be_visible()
    expect(page.locator("input[data-assignment]")).to_have_count(BOOK, timeout=BIG_PAGE_WAIT)
    expect(page.locator("datalist option")).to_have_count(ELIGIBLE)

    page.get_by_label("Assign all to").fill("Nina Park (nina.park)")
    page.get_by_role("button", name="Assign to every client").click()
    expect(page.locator("[data-assign-status]")).to_have_text(
        "1,000 clients assigned to Nina Park."
    )
    expect(page.get_by_label("New user for Book client 00999")).to_have_value(
        "Nina Park (nina.park)"
    )
    page.get_by_role("button", name="Save").click()

    expect(
        page.get_by_role("heading", name=re.compile(r"Transfer #\d+: User Transfer$"))
    ).to_be_visible(timeout=BIG_PAGE_WAIT)
    transfer = Transfer.objects.get()
    assert transfer.record_counts["client"] == BOOK
    assert set(Client.objects.filter(pk__in=client_ids).values_list("owner", flat=True)) == {
        nina.pk
    }
    assert not Matter.objects.filter(owner=leaver).exists()
    assert not Case.objects.filter(owner=leaver).exists()


def test_distribute_among_three_then_save(live_server, page, signed_in_page, administrator):
    leaver = OwnerFactory(username="lena.book", first_name="Lena", last_name="Book")
    three = [
        OwnerFactory(username="ada.abel", first_name="Ada", last_name="Abel"),
        OwnerFactory(username="ben.bell", first_name="Ben", last_name="Bell"),
        OwnerFactory(username="cy.cole", first_name="Cy", last_name="Cole"),
    ]
    # Ada starts with 40 cases of her own: she should get fewer of Lena's.
    matter = MatterFactory(owner=three[0])
    CaseFactory.create_batch(40, matter=matter, client=matter.client, owner=three[0])
    colleagues(ELIGIBLE - 3)
    client_ids = big_book(leaver)
    expected = client_distribution(old_user=leaver, to_users=three).assignments
    assert len(expected) == BOOK

    page = signed_in_page(administrator, per_client_path(leaver))
    distribute = page.get_by_role("group", name="Distribute among")
    distribute.get_by_label("Filter users").fill("cole")  # the list filters as you type
    expect(distribute.get_by_label(re.compile(r"^Staff 001 —"))).to_be_hidden()
    expect(distribute.get_by_label(re.compile(r"^Cy Cole —"))).to_be_visible()
    distribute.get_by_label("Filter users").fill("")
    for user in three:
        distribute.get_by_label(re.compile(rf"^{user.full_name} —")).check()
    expect(distribute.get_by_label("Balance by workload")).to_be_checked()
    distribute.get_by_role("button", name="Distribute").click()

    # A server round trip on a page of 1,000 rows: on a busy machine it may take
    # longer than expect's default 5 s, so wait up to BIG_PAGE_WAIT.
    totals = page.locator("[data-region=distribution-totals]").get_by_role(
        "table", name="Proposal: each chosen user's totals after Save"
    )
    expect(totals).to_be_visible(timeout=BIG_PAGE_WAIT)
    expect(totals.get_by_role("row")).to_have_count(4)
    expect(totals.get_by_role("row", name=re.compile("^Ada Abel"))).to_contain_text("40 →")
    first, last = client_ids[0], client_ids[-1]
    references = {user.pk: f"{user.full_name} ({user.username})" for user in three}
    expect(page.locator(f"#id_client-{first}")).to_have_value(references[expected[first]])
    expect(page.locator(f"#id_client-{last}")).to_have_value(references[expected[last]])
    assert Transfer.objects.count() == 0  # a proposal only

    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"Transfer #\d+: User Transfer$"))
    ).to_be_visible(timeout=BIG_PAGE_WAIT)
    owners = dict(Client.objects.filter(pk__in=client_ids).values_list("pk", "owner_id"))
    assert owners == expected
    assert not Case.objects.filter(owner=leaver).exists()
    cases = {user.pk: Case.objects.filter(owner=user).count() for user in three}
    assert max(cases.values()) - min(cases.values()) <= 40


def test_filter_select_assign_selected_and_preview(
    live_server, page, signed_in_page, check_page, administrator
):
    leaver = OwnerFactory(username="lena.book", first_name="Lena", last_name="Book")
    dana = OwnerFactory(username="dana.reyes", first_name="Dana", last_name="Reyes")
    marcus = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    acme = ClientFactory(owner=leaver, name="Acme Ltd", number="C-10001")
    acorn = ClientFactory(owner=leaver, name="Acorn Bank", number="C-10002")
    birch = ClientFactory(owner=leaver, name="Birch Hall", number="C-20001")
    CaseFactory(matter=MatterFactory(client=birch, owner=leaver), client=birch, owner=leaver)

    page = signed_in_page(administrator, per_client_path(leaver))
    check_page(page)
    page.get_by_label("New user for Birch Hall").fill("Marcus Hale (marcus.hale)")
    page.get_by_label("Filter clients").fill("ac")
    expect(page.get_by_label("New user for Birch Hall")).to_be_hidden()
    expect(page.locator("[data-filter-status]")).to_have_text("Showing 2 of 3 clients.")
    page.get_by_label("Select all shown clients").check()
    expect(page.get_by_label("Select Acorn Bank")).to_be_checked()
    expect(page.get_by_label("Select Birch Hall")).not_to_be_checked()
    page.get_by_label("Assign selected to").fill("Dana Reyes (dana.reyes)")
    page.get_by_role("button", name="Assign to selected clients").click()
    expect(page.locator("[data-assign-status]")).to_have_text("2 clients assigned to Dana Reyes.")
    page.get_by_label("Filter clients").fill("")
    # The assignment made before the filter changed is kept.
    expect(page.get_by_label("New user for Birch Hall")).to_have_value("Marcus Hale (marcus.hale)")
    expect(page.get_by_label("New user for Acme Ltd")).to_have_value("Dana Reyes (dana.reyes)")

    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("table", name="Preview: what Save would move")
    expect(preview.get_by_role("row", name=re.compile("^Dana Reyes"))).to_contain_text("2")
    expect(preview.get_by_role("row", name=re.compile("^Marcus Hale"))).to_contain_text("1")
    check_page(page)
    assert Transfer.objects.count() == 0

    # A row changed by hand after the preview: the page says its figures are old.
    page.get_by_label("New user for Acorn Bank").fill("Marcus Hale (marcus.hale)")
    expect(page.locator("[data-region=preview] [data-stale]")).to_have_text(
        "Rows changed since these figures: Preview shows what Save would move now."
    )
    page.get_by_label("New user for Acorn Bank").fill("Dana Reyes (dana.reyes)")

    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("heading", name=re.compile(r"Transfer #\d+: User Transfer$"))
    ).to_be_visible()
    assert {
        c.pk: c.owner_id for c in Client.objects.filter(pk__in=[acme.pk, acorn.pk, birch.pk])
    } == {
        acme.pk: dana.pk,
        acorn.pk: dana.pk,
        birch.pk: marcus.pk,
    }
    assert Case.objects.get(client=birch).owner == marcus
