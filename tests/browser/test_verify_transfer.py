"""The traps of issue 26 in Chromium: Distribute keeps what was assigned by
hand, every count on a receipt lands on a grid showing that count, the new
owner's e-mail link, a revert in its own words, and no shares left behind by a
deactivating transfer."""

import re

import pytest
from playwright.sync_api import expect

from clients.record_types import RECORD_TYPES
from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)


def per_client_path(user) -> str:
    return f"/settings/transfers/users/{user.pk}/per-client/"


@pytest.fixture
def sams_book():
    sam = OwnerFactory(username="sam.okafor", first_name="Sam", last_name="Okafor")
    people = {
        name: OwnerFactory(username=name, first_name=first, last_name=last)
        for name, first, last in (
            ("tom.becker", "Tom", "Becker"),
            ("grace.kim", "Grace", "Kim"),
            ("lena.ortiz", "Lena", "Ortiz"),
        )
    }
    jansen = [ClientFactory(owner=sam, name=f"Jansen {n}") for n in range(4)]
    others = [ClientFactory(owner=sam, name=f"Other {n}") for n in range(4)]
    for client in jansen + others:
        CaseFactory(matter=MatterFactory(client=client, owner=sam), client=client, owner=sam)
    return sam, people, jansen, others


def test_rows_assigned_by_hand_survive_distribute(
    live_server, signed_in_page, check_page, administrator, sams_book
):
    sam, people, jansen, others = sams_book
    tom = "Tom Becker (tom.becker)"
    page = signed_in_page(administrator, per_client_path(sam))
    page.get_by_label("Filter clients").fill("Jansen")
    page.get_by_label("Select all shown clients").check()
    page.get_by_label("Assign selected to").fill(tom)
    page.get_by_role("button", name="Assign to selected clients").click()
    expect(page.locator("[data-assign-status]")).to_have_text("4 clients assigned to Tom Becker.")
    page.get_by_label("Filter clients").fill("")

    distribute = page.get_by_role("group", name="Distribute among")
    distribute.get_by_label(re.compile(r"^Grace Kim —")).check()
    distribute.get_by_label(re.compile(r"^Lena Ortiz —")).check()
    distribute.get_by_role("button", name="Distribute").click()
    status = page.locator("[data-fill-status]")
    expect(status).to_contain_text("Distribute filled 4 empty rows and kept 4 already assigned")
    for client in jansen:
        expect(page.get_by_label(f"New user for {client.name}")).to_have_value(tom)
    for client in others:
        expect(page.get_by_label(f"New user for {client.name}")).to_have_value(
            re.compile(r"^(Grace Kim \(grace.kim\)|Lena Ortiz \(lena.ortiz\))$")
        )
    expect(page.locator("[data-assign-status]")).to_have_text("")
    check_page(page)

    page.get_by_label("Replace assignments already made").check()
    distribute.get_by_role("button", name="Distribute").click()
    expect(status).to_have_text(
        "Distribute filled 8 rows, replacing 4 assignments already made. "
        "Change any row before Save."
    )
    for client in jansen:
        expect(page.get_by_label(f"New user for {client.name}")).not_to_have_value(tom)

    page.get_by_label("Assign all to").fill(tom)
    page.get_by_role("button", name="Assign to every client").click()
    expect(page.locator("[data-assign-status]")).to_have_text(
        "8 clients assigned to Tom Becker, replacing 8 assignments already made."
    )
    assert Transfer.objects.count() == 0


@pytest.fixture
def split_book(administrator, sams_book):
    """Sam's book split: the Jansen clients to Grace, the others to Lena, who
    already owns a client and a case of her own."""
    from transfers.engine.services import records_transfer_per_client

    sam, people, jansen, others = sams_book
    grace, lena = people["grace.kim"], people["lena.ortiz"]
    own = ClientFactory(owner=lena, name="Lena's own client")
    CaseFactory(matter=MatterFactory(client=own, owner=lena), client=own, owner=lena)
    assignments = {client.pk: grace for client in jansen} | {client.pk: lena for client in others}
    transfer = records_transfer_per_client(
        acting_user=administrator, old_user=sam, assignments=assignments
    ).transfer
    return transfer, grace, lena


def grid_total(page) -> int:
    summary = page.locator(".grid-summary").inner_text()
    if summary.startswith("No "):
        return 0
    return int(re.search(r"of ([\d,]+)", summary).group(1).replace(",", ""))


def test_every_count_on_a_receipt_lands_on_a_grid_showing_that_count(
    live_server, signed_in_page, check_page, administrator, split_book
):
    transfer, grace, lena = split_book
    page = signed_in_page(administrator, transfer.get_absolute_url())
    links = page.get_by_role("table", name="New users").get_by_role(
        "link", name=re.compile("moved to .* by this transfer")
    )
    links_shown = 2 * len(RECORD_TYPES)  # each owned record type, for each new user
    expect(links).to_have_count(links_shown)
    targets = [
        (links.nth(i).inner_text(), links.nth(i).get_attribute("href")) for i in range(links_shown)
    ]
    assert {int(count) for count, _ in targets} == {4, 0}  # the book has no deadlines
    for count, href in targets:
        page.goto(f"{live_server.url}{href}")
        expect(page.locator("caption")).to_contain_text(f"moved by transfer #{transfer.pk}")
        assert grid_total(page) == int(count), href
        if int(count):
            expect(page.locator("table.grid tbody tr")).to_have_count(int(count))
    check_page(page)


def test_an_attorney_follows_the_emails_link_to_exactly_their_records(
    live_server, settings, signed_in_page, check_page, split_book
):
    from django.core import mail

    from clients.models import Case
    from transfers.receipts.notifications import transfer_notify_recipients

    transfer, grace, lena = split_book
    settings.SITE_URL = live_server.url
    mail.outbox.clear()
    transfer_notify_recipients(transfer.pk)
    message = next(m for m in mail.outbox if m.to == [lena.email])
    assert f"Your records from transfer #{transfer.pk}" in message.body
    cases_url = re.search(r"Cases:\s+(https?://\S+)", message.body).group(1)
    assert cases_url.startswith(live_server.url)

    page = signed_in_page(lena, cases_url.removeprefix(live_server.url))
    expect(page.locator("caption")).to_have_text(f"Your cases from transfer #{transfer.pk}")
    received = set(
        Case.objects.filter(
            pk__in=transfer.records.filter(record_type="case", to_user=lena).values("record_id")
        ).values_list("number", flat=True)
    )
    assert len(received) == 4
    shown = set(page.locator("table.grid tbody th").all_inner_texts())
    assert shown == received  # not her own case, not Grace's
    assert grid_total(page) == 4
    check_page(page)


def test_a_revert_reads_in_its_own_words(
    live_server, signed_in_page, check_page, administrator, split_book
):
    from clients.models import Case

    transfer, grace, lena = split_book
    tom = OwnerFactory(username="tom.other", first_name="Tom", last_name="Other")
    changed = Case.objects.filter(owner=grace).order_by("number").first()
    Case.objects.filter(pk=changed.pk).update(owner=tom)  # changed since: left alone

    page = signed_in_page(administrator, transfer.get_absolute_url())
    page.get_by_role("link", name="Revert").click()
    expect(page.get_by_role("heading", name=f"Revert transfer #{transfer.pk}")).to_be_visible()
    counts = page.get_by_role("table", name=re.compile(f"What transfer #{transfer.pk} moved"))
    expect(counts.get_by_role("row", name=re.compile("^Grace Kim"))).to_contain_text("4")
    expect(counts.get_by_role("row", name=re.compile("^Total"))).to_contain_text("8")
    expect(page.get_by_text("1 of these records changed since the transfer")).to_be_visible()
    check_page(page)
    page.get_by_role("button", name="Revert").click()

    headline = f"Revert of #{transfer.pk}: back to Sam Okafor from Grace Kim, Lena Ortiz."
    expect(page.get_by_text(headline)).to_be_visible()
    revert = Transfer.objects.get(reverted_transfer=transfer)
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("1 record changed since the transfer was left alone")
    left_alone = facts.get_by_role("link", name=re.compile(re.escape(changed.number)))
    expect(left_alone).to_have_attribute("href", f"/cases/{changed.pk}/")
    expect(page.get_by_role("heading", name="Moved back to")).to_be_visible()
    expect(page.get_by_role("link", name="Revert", exact=True)).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Permission")).to_have_count(0)
    check_page(page)

    page.goto(f"{live_server.url}/settings/transfers/")
    row = page.get_by_role("row", name=re.compile(f"^#{revert.pk} "))
    expect(row.locator('td[data-label="From"]')).to_have_text("Grace Kim, Lena Ortiz")
    expect(row.locator('td[data-label="To"]')).to_have_text("Sam Okafor")
    expect(row).to_contain_text(f"Revert of #{transfer.pk}: back to Sam Okafor")
    check_page(page)


def test_shares_left_outside_are_revoked_and_listed_then_given_back_by_revert(
    live_server, signed_in_page, check_page, administrator, sams_book
):
    """No shares left behind: Sam holds shares on a colleague's clients, outside
    his book. Deactivating him revokes them, the receipt lists each, and Revert
    gives them back exactly."""
    from django.urls import reverse

    from clients.models import ClientUserObjectPermission, MatterUserObjectPermission
    from tests.factories import ClientShareFactory, MatterShareFactory
    from tests.transfers.engine_support import user_shares

    sam, people, jansen, others = sams_book
    colleague = OwnerFactory(first_name="Ada", last_name="Colleague")
    outside = [ClientFactory(owner=colleague, name=f"Harbour {n}") for n in range(2)]
    for client in outside:
        ClientShareFactory(content_object=client, user=sam)
    MatterShareFactory(content_object=MatterFactory(client=outside[0], owner=colleague), user=sam)
    ClientShareFactory(content_object=jansen[0], user=people["grace.kim"])  # not Sam's
    before = user_shares(sam)
    assert len(before) == 3

    page = signed_in_page(administrator, per_client_path(sam))
    deactivate = page.get_by_label("Deactivate the old user")
    expect(deactivate).to_have_accessible_description(
        re.compile("3 shares on other clients will be revoked")
    )
    check_page(page)
    page.get_by_label("Assign all to").fill("Tom Becker (tom.becker)")
    page.get_by_role("button", name="Assign to every client").click()
    deactivate.check()
    page.get_by_role("button", name="Save").click()

    transfer = Transfer.objects.get()
    expect(page).to_have_url(re.compile(f"{transfer.get_absolute_url()}$"))
    expect(page.get_by_text("3 shares on other clients were revoked.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Sam Okafor was deactivated")
    revoked = page.get_by_role("table", name="Shares revoked")
    expect(revoked.locator("tbody tr")).to_have_count(3)
    for client in outside:
        link = revoked.get_by_role("link", name=client.name)
        expect(link.first).to_have_attribute("href", f"/clients/{client.pk}/")
    expect(revoked.get_by_role("cell", name="Can view client")).to_have_count(2)
    expect(revoked.get_by_role("cell", name="Can view matter")).to_have_count(1)
    check_page(page)
    assert user_shares(sam) == set()
    assert ClientUserObjectPermission.objects.filter(user=people["grace.kim"]).count() == 1

    page.goto(f"{live_server.url}{reverse('transfers:user_page', args=[sam.pk])}")
    expect(page.get_by_text("0 explicit shares")).to_be_visible()

    page.goto(f"{live_server.url}{transfer.get_absolute_url()}")
    page.get_by_role("link", name="Revert").click()
    expect(
        page.get_by_text("The 3 shares on other clients it revoked are given back.")
    ).to_be_visible()
    check_page(page)
    page.get_by_role("button", name="Revert").click()

    expect(page.get_by_text("3 shares on other clients were given back.")).to_be_visible()
    given_back = page.get_by_role("table", name="Shares given back")
    expect(given_back.locator("tbody tr")).to_have_count(3)
    expect(given_back.get_by_role("cell", name="Sam Okafor")).to_have_count(3)
    check_page(page)
    assert user_shares(sam) == before
    assert MatterUserObjectPermission.objects.filter(user=sam).count() == 1

    page.goto(f"{live_server.url}{reverse('transfers:user_page', args=[sam.pk])}")
    expect(page.get_by_text("3 explicit shares")).to_be_visible()
    check_page(page)
