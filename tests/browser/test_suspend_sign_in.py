"""Suspend sign-in in a real browser: an administrator locks a leaver out
while they still own records, and the leaver shows up among the Leavers."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CaseFactory, ClientFactory, OwnerFactory, UserFactory
from users import groups
from users.models import AccountEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_administrator_suspends_a_leaver_who_owns_records(
    live_server, browser, page, sign_in, check_page, administrator
):
    leaver = OwnerFactory(username="sam.okafor", first_name="Sam", last_name="Okafor")
    CaseFactory(matter__client__owner=leaver, matter__client__name="Jansen Holding")
    ClientFactory(owner=leaver, name="Birch & Co")
    colleague = OwnerFactory(username="grace.kim", first_name="Grace", last_name="Kim")
    ClientFactory(owner=colleague)
    OwnerFactory(username="lena.ortiz", first_name="Lena", last_name="Ortiz")
    # A system account: a superuser in no owning group.
    UserFactory(
        username="site.admin",
        first_name="Site",
        last_name="Administrator",
        is_superuser=True,
        is_staff=True,
        groups=[groups.ADMINISTRATORS],
    )

    # The leaver is signed in, in a browser of their own.
    leaver_context = browser.new_context()
    leaver_page = leaver_context.new_page()
    sign_in(leaver, on_page=leaver_page)
    expect(leaver_page.locator("header")).to_contain_text("Sam Okafor")

    # The administrator suspends them from User Registration's action menu.
    sign_in(administrator)
    page.goto(f"{live_server.url}/settings/users/?q=okafor")
    page.get_by_role("button", name="Actions for Sam Okafor", exact=True).click()
    page.get_by_role("link", name="Suspend sign-in").click()
    expect(page.get_by_role("heading", name="Suspend sign-in for Sam Okafor")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("2 clients, 1 matter, 1 case")
    check_page(page)
    page.get_by_label("Reason (optional)").fill("Leaves the firm on Friday")
    page.get_by_role("button", name="Suspend sign-in").click()
    expect(page.get_by_role("status")).to_contain_text("Sam Okafor's sign-in was suspended.")
    row = page.get_by_role("row", name=re.compile("Sam Okafor"))
    expect(row).to_contain_text("Sign-in suspended")
    check_page(page)
    event = AccountEvent.objects.get(user=leaver, kind=AccountEvent.Kind.SIGN_IN_SUSPENDED)
    assert (event.actor, event.detail) == (administrator, "Reason: Leaves the firm on Friday")

    # The leaver's open session ends on their next page.
    leaver_page.goto(f"{live_server.url}/clients/")
    expect(leaver_page).to_have_url(f"{live_server.url}/login/?next=/clients/")
    expect(leaver_page.get_by_role("heading", name="Sign in to CaseEngine")).to_be_visible()

    # Their sign-in is refused, with the message an inactive account gets.
    sign_in(leaver, on_page=leaver_page)
    expect(leaver_page.get_by_role("alert")).to_contain_text(
        "enter a correct username and password"
    )
    expect(leaver_page.get_by_role("heading", name="Sign in to CaseEngine")).to_be_visible()
    leaver_context.close()

    # They are not offered as a new user (nor is the system account); Lena is.
    page.goto(f"{live_server.url}/settings/users/?q=grace")
    page.get_by_role("button", name="Actions for Grace Kim", exact=True).click()
    page.get_by_role("link", name="User Transfer All").click()
    expect(page.get_by_role("heading", name="User Transfer All")).to_be_visible()
    options = page.get_by_label("New user").locator("option").all_inner_texts()
    offered = [option for option in options if option != "Choose a user"]
    assert len(offered) == 1 and offered[0].startswith("Lena Ortiz"), options

    # The Settings page counts the leavers and links to the Leavers filter.
    page.goto(f"{live_server.url}/settings/")
    expect(page.get_by_role("main")).to_contain_text("1 leaver still owns records")
    page.get_by_role("link", name="Leavers").click()
    expect(page.get_by_label("Status")).to_have_value("leavers")
    rows = page.locator("table.user-grid tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Sam Okafor")
    expect(rows.first).to_contain_text("Sign-in suspended")
    expect(rows.first).to_contain_text("2 clients, 1 matter, 1 case")
    expect(rows.first.get_by_role("link", name="2 clients owned by Sam Okafor")).to_have_text("2")
    check_page(page)
