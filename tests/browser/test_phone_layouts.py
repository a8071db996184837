"""At 375 px each screen's key column is on screen without scrolling
sideways (rows become cards), record numbers stay on one line, and axe finds
no serious or critical violation at 375 and at 1,280 px."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory
from transfers.engine.services import records_transfer_all

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def firm(administrator):
    leaver = OwnerFactory(first_name="Samuel", last_name="Okafor-Lindqvist")
    heir = OwnerFactory(first_name="Grace", last_name="Kim")
    client = ClientFactory(
        owner=leaver, name="Jansen Holdings International Group", number="C-00001"
    )
    matter = MatterFactory(client=client, owner=leaver, number="M-00001", title="Lease — Jansen")
    CaseFactory(matter=matter, owner=leaver, number="K-00001")
    given = ClientFactory(owner=heir, name="Becker Logistics", number="C-00002")
    MatterFactory(client=given, owner=heir, number="M-00002")
    transfer = records_transfer_all(acting_user=administrator, old_user=heir, new_user=leaver)
    return {"leaver": leaver, "heir": heir, "client": client, "transfer": transfer.transfer}


def inside_viewport(locator, width: int) -> bool:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return box["x"] >= 0 and box["x"] + box["width"] <= width


def on_one_line(locator) -> bool:
    """An inline element that wraps has one client rectangle per line."""
    return locator.evaluate("el => el.getClientRects().length === 1")


def key_columns(page, firm):
    """(path, the locators of its key column) for every screen this is about."""
    leaver = firm["leaver"]
    name = leaver.full_name
    client = firm["client"]
    return [
        (
            f"/settings/transfers/users/{leaver.pk}/per-client/",
            [page.get_by_label(f"New user for {client.name}")],
        ),
        (
            f"/settings/users/?q={leaver.username}",
            [page.get_by_role("button", name=f"Actions for {name}")],
        ),
        ("/clients/", [page.locator('td[data-label="Owner"]').first]),
        ("/matters/", [page.locator('td[data-label="Owner"]').first]),
        ("/cases/", [page.locator('td[data-label="Owner"]').first]),
        (
            "/settings/transfers/",
            [
                page.locator('td[data-label="From"]').first,
                page.locator('td[data-label="To"]').first,
            ],
        ),
        (
            firm["transfer"].get_absolute_url(),
            [page.locator('table[aria-labelledby="records"] td[data-label="To"]').first],
        ),
    ]


def test_key_columns_are_on_a_375px_screen_without_scrolling_sideways(
    browser, live_server, session_cookie_for, check_page, administrator, firm
):
    phone = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        phone.add_cookies([session_cookie_for(administrator)])
        page = phone.new_page()
        for path, locators in key_columns(page, firm):
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            for locator in locators:
                expect(locator).to_be_visible()
                assert inside_viewport(locator, PHONE["width"]), (path, locator.bounding_box())
            check_page(page)
        for path in ("/clients/", "/matters/", "/cases/"):
            page.goto(f"{live_server.url}{path}")
            numbers = page.locator(".record-grid tbody th a")
            expect(numbers.first).to_be_visible()
            for index in range(numbers.count()):
                assert on_one_line(numbers.nth(index)), (path, numbers.nth(index).inner_text())
    finally:
        phone.close()


def test_the_same_screens_pass_axe_at_1280px(
    browser, live_server, session_cookie_for, check_page, administrator, firm
):
    desktop = browser.new_context(viewport=DESKTOP)
    try:
        desktop.add_cookies([session_cookie_for(administrator)])
        page = desktop.new_page()
        for path, locators in key_columns(page, firm):
            page.goto(f"{live_server.url}{path}")
            for locator in locators:
                expect(locator).to_be_visible()
                assert inside_viewport(locator, DESKTOP["width"]), path
            check_page(page)
    finally:
        desktop.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
def test_revert_pages_and_the_greyed_menu_pass_axe(
    browser, live_server, session_cookie_for, check_page, administrator, firm, viewport
):
    from transfers.engine.services import transfer_revert

    empty = OwnerFactory(first_name="Nora", last_name="Empty")
    original = firm["transfer"]
    context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
    try:
        context.add_cookies([session_cookie_for(administrator)])
        page = context.new_page()
        page.goto(f"{live_server.url}/settings/transfers/{original.pk}/revert/confirm/")
        expect(page.get_by_role("table", name=re.compile("What transfer"))).to_be_visible()
        check_page(page)
        revert = transfer_revert(acting_user=administrator, transfer=original).transfer
        page.goto(f"{live_server.url}{revert.get_absolute_url()}")
        expect(page.get_by_text(re.compile(f"^Revert of #{original.pk}: back to"))).to_be_visible()
        check_page(page)
        page.goto(f"{live_server.url}/settings/users/?q=Nora")
        page.get_by_role("button", name=f"Actions for {empty.full_name}").click()
        reason = page.get_by_text("Nora Empty owns no clients, matters or cases")
        expect(reason).to_be_visible()
        assert inside_viewport(reason, viewport["width"])
        check_page(page)
    finally:
        context.close()
