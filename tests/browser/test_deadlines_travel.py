"""Deadlines travel with the case: a leaver's book, some of it overdue, split
client by client between two colleagues; each sees on the receipt what is due
in the next two weeks, overdue first, and finds it in the Deadlines grid."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Deadline
from tests.factories import ClientFactory, DeadlineFactory, MatterFactory, OwnerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_split_book_shows_each_new_owner_what_is_due(
    live_server, signed_in_page, check_page, administrator
):
    today = timezone.localdate()
    leaver = OwnerFactory(username="sam.okafor", first_name="Sam", last_name="Okafor")
    grace = OwnerFactory(username="grace.kim", first_name="Grace", last_name="Kim")
    lena = OwnerFactory(username="lena.ortiz", first_name="Lena", last_name="Ortiz")
    acme = ClientFactory(owner=leaver, name="Acme Holdings")
    bolt = ClientFactory(owner=leaver, name="Bolt Logistics")
    acme_matter = MatterFactory(client=acme, owner=leaver, title="Acme lease")
    bolt_matter = MatterFactory(client=bolt, owner=leaver, title="Bolt appeal")
    for matter, title, days in (
        (acme_matter, "Serve the defence", -3),
        (acme_matter, "Hearing on the lease", 2),
        (acme_matter, "Limitation on the lease", 60),
        (bolt_matter, "File the appeal brief", 5),
        (bolt_matter, "Bolt's missed filing", -1),
    ):
        DeadlineFactory(
            case=None,
            matter=matter,
            owner=leaver,
            title=title,
            due_date=today + datetime.timedelta(days=days),
        )

    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/per-client/")
    page.get_by_label(f"New user for {acme.name}").fill("Grace Kim (grace.kim)")
    page.get_by_label(f"New user for {bolt.name}").fill("Lena Ortiz (lena.ortiz)")
    page.get_by_role("button", name="Save").click()

    due = page.get_by_role("region", name="Due in the next 14 days")
    expect(due).to_be_visible()
    grace_items = due.locator("ul[aria-labelledby='due-soon-1'] li")
    lena_items = due.locator("ul[aria-labelledby='due-soon-2'] li")
    expect(grace_items).to_have_count(2)
    expect(grace_items.nth(0)).to_contain_text("Overdue")
    expect(grace_items.nth(0)).to_contain_text("Serve the defence")
    expect(grace_items.nth(1)).to_contain_text("Hearing on the lease")
    expect(grace_items.nth(1)).not_to_contain_text("Overdue")
    expect(lena_items).to_have_count(2)
    expect(lena_items.nth(0)).to_contain_text("Bolt's missed filing")
    expect(lena_items.nth(0)).to_contain_text("Overdue")
    expect(due).not_to_contain_text("Limitation on the lease")
    check_page(page)

    for owner, titles in (
        (grace, ["Serve the defence", "Hearing on the lease", "Limitation on the lease"]),
        (lena, ["Bolt's missed filing", "File the appeal brief"]),
    ):
        page.goto(f"{live_server.url}/deadlines/?owner={owner.pk}")
        rows = page.locator("table.grid tbody tr")
        expect(rows).to_have_count(len(titles))
        for title in titles:
            expect(page.get_by_role("link", name=title)).to_be_visible()
    assert not Deadline.objects.filter(owner=leaver).exists()
