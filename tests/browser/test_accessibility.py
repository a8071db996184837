"""axe-core on every screen, labelled fields, visible focus and a 375 px
wide phone screen, in headless Chromium against the live server."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser.conftest import has_focus_ring, horizontal_overflow, unlabelled_fields
from tests.factories import TEST_PASSWORD, CaseFactory, OwnerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def records(attorney):
    case = CaseFactory(owner=attorney, matter__owner=attorney, matter__client__owner=attorney)
    return case


def _screens(records, administrator):
    case = records
    return [
        "/",
        "/settings/",
        "/settings/users/",
        "/settings/users/add/",
        f"/settings/users/{administrator.pk}/",
        "/clients/",
        f"/clients/{case.client.pk}/",
        "/matters/",
        f"/matters/{case.matter.pk}/",
        "/cases/",
        f"/cases/{case.pk}/",
        "/no-such-page/",
    ]


def test_every_screen_passes_axe_and_labels_every_field(
    live_server, signed_in_page, check_page, records, administrator
):
    page = signed_in_page(administrator)
    for path in _screens(records, administrator):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1")).to_be_visible()
        check_page(page)
        assert unlabelled_fields(page) == [], path


def test_sign_in_forbidden_and_lockout_pages_pass_axe(
    live_server, page, sign_in, check_page, attorney
):
    page.goto(f"{live_server.url}/login/")
    check_page(page)
    assert unlabelled_fields(page) == []

    sign_in(attorney, password="not-the-password")
    expect(page.get_by_role("alert")).to_be_visible()
    check_page(page)  # the form with its error

    for _ in range(settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS - 1):
        sign_in(attorney, password="not-the-password")
    expect(page.get_by_role("heading", name="Sign-in locked")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    check_page(page)

    page.context.clear_cookies()
    other = OwnerFactory()
    sign_in(other, password=TEST_PASSWORD)
    page.goto(f"{live_server.url}/settings/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    check_page(page)


def test_keyboard_focus_is_visible(live_server, signed_in_page, administrator):
    page = signed_in_page(administrator)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    for _ in range(10):
        if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Settings":
            break
        page.keyboard.press("Tab")
    gear = page.locator("header").get_by_role("link", name="Settings")
    expect(gear).to_be_focused()
    assert has_focus_ring(gear)
    page.keyboard.press("Tab")
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_focused()
    assert has_focus_ring(log_out)
    page.keyboard.press("Shift+Tab")

    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()


PHONE_SCREENS = [
    "/",
    "/settings/",
    "/settings/users/",
    "/settings/users/add/",
    "/settings/transfers/users/{leaver}/all/",
    "/settings/transfers/users/{leaver}/per-client/",
    "/settings/transfers/{transfer}/",
    "/settings/transfers/",
    "/clients/",
    "/clients/{client}/",
    "/matters/",
    "/cases/",
]


def test_main_screens_are_usable_on_a_375px_phone(
    browser, live_server, session_cookie_for, administrator
):
    from transfers.engine.services import records_transfer_all

    leaver, heir = OwnerFactory(), OwnerFactory()
    case = CaseFactory(owner=leaver, matter__owner=leaver, matter__client__owner=leaver)
    CaseFactory(owner=leaver, matter__owner=leaver, matter__client__owner=heir)
    # heir's client goes to leaver: the receipt and both transfer forms have rows.
    transfer = records_transfer_all(
        acting_user=administrator, old_user=heir, new_user=leaver
    ).transfer
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    too_wide = {}
    try:
        phone.add_cookies([session_cookie_for(administrator)])
        page = phone.new_page()
        for screen in PHONE_SCREENS:
            path = screen.format(leaver=leaver.pk, transfer=transfer.pk, client=case.client.pk)
            page.goto(f"{live_server.url}{path}")
            expect(page.locator("h1")).to_be_visible()
            expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
            expect(page.locator("header").get_by_role("link", name="Settings")).to_be_in_viewport()
            if horizontal_overflow(page) > 0:
                too_wide[path] = horizontal_overflow(page)
    finally:
        phone.close()
    assert too_wide == {}, f"pages that scroll sideways at 375 px (by px): {too_wide}"


def test_sign_in_is_usable_on_a_375px_phone(browser, live_server):
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = phone.new_page()
        page.goto(f"{live_server.url}/login/")
        assert horizontal_overflow(page) <= 0
        expect(page.get_by_role("button", name="Sign in")).to_be_in_viewport()
    finally:
        phone.close()
