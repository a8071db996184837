import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_shows_the_header_and_sign_out_ends_the_session(
    live_server, page, sign_in, administrator
):
    sign_in(administrator)
    header = page.locator("header")
    expect(header.get_by_role("link", name="Clients")).to_be_visible()
    expect(header.get_by_role("link", name="Matters")).to_be_visible()
    expect(header.get_by_role("link", name="Cases")).to_be_visible()
    expect(header.get_by_text("Olivia Grant")).to_be_visible()
    expect(header.get_by_role("link", name="Settings")).to_be_visible()

    header.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()

    header.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Sign in to CaseEngine")).to_be_visible()
    page.goto(f"{live_server.url}/clients/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/clients/")


def test_wrong_password_is_refused_with_a_message(live_server, page, sign_in, attorney):
    sign_in(attorney, password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")


def test_attorney_has_no_settings_gear(live_server, page, sign_in, attorney):
    sign_in(attorney)
    expect(page.locator("header").get_by_text("Dana Reyes")).to_be_visible()
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
