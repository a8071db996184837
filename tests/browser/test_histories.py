"""The record's Ownership history after an owner change in the Django admin
and a transfer, and a user's page with the account history, in Chromium,
with axe-core on our pages."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CaseFactory, OwnerFactory
from transfers.engine.services import records_transfer_all
from transfers.models import Transfer
from users.services import user_update

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owen_case(administrator):
    owen = OwnerFactory(username="owen.owner", first_name="Owen", last_name="Owner")
    nina = OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    case = CaseFactory(
        matter__client__owner=owen, matter__owner=owen, owner=owen, caption="Owner v. Adler"
    )
    return owen, nina, case


def test_admin_owner_change_appears_in_the_record_history(
    live_server, signed_in_page, check_page, administrator, owen_case
):
    owen, nina, case = owen_case
    page = signed_in_page(administrator, f"/cases/{case.pk}/")
    history = page.get_by_role("region", name="Ownership history")
    expect(history).to_contain_text(
        "Never transferred: Owen Owner has owned it since it was created."
    )

    # Admin → Cases → change the owner from Owen Owner to Nina New.
    page.goto(f"{live_server.url}/admin/clients/case/{case.pk}/change/")
    page.locator("#select2-id_owner-container").click()
    page.locator(".select2-search__field").fill("Nina")
    page.get_by_role("option", name="Nina New").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    # Then a transfer gives it back to Owen with the rest of Nina's records.
    records_transfer_all(acting_user=administrator, old_user=nina, new_user=owen)
    transfer = Transfer.objects.get(mode=Transfer.Mode.ALL)
    owner_change = Transfer.objects.get(mode=Transfer.Mode.OWNER_CHANGE)

    page.goto(f"{live_server.url}/cases/{case.pk}/")
    history = page.get_by_role("region", name="Ownership history")
    expect(history).not_to_contain_text("Never transferred")
    items = history.get_by_role("listitem")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Moved from Nina New to Owen Owner by Olivia Grant on")
    expect(items.nth(0).get_by_role("link", name=f"receipt #{transfer.pk}")).to_be_visible()
    expect(items.nth(1)).to_contain_text(
        "Owner changed from Owen Owner to Nina New by Olivia Grant on"
    )
    check_page(page)
    items.nth(1).get_by_role("link", name=f"receipt #{owner_change.pk}").click()
    expect(
        page.get_by_role("heading", name=f"Transfer #{owner_change.pk}: Owner change")
    ).to_be_visible()
    check_page(page)


def test_user_page_shows_the_account_history_from_user_registration(
    live_server, signed_in_page, check_page, administrator, owen_case
):
    owen, nina, _case = owen_case
    user_update(
        user=owen,
        acting_user=administrator,
        first_name="Owen",
        last_name="Owner",
        email=owen.email,
        groups=[*owen.groups.all()],
    )
    transfer = records_transfer_all(
        acting_user=administrator, old_user=owen, new_user=nina, deactivate_old_user=True
    ).transfer
    page = signed_in_page(administrator, "/settings/users/?q=owen")
    page.get_by_role("rowheader", name="Owen Owner").get_by_role("link").click()

    expect(page.get_by_role("heading", name=re.compile("^Owen Owner"))).to_be_visible()
    history = page.get_by_role("region", name="Account history")
    items = history.get_by_role("listitem")
    expect(items.nth(0)).to_contain_text("Deactivated by a transfer by Olivia Grant on")
    expect(items.nth(1)).to_contain_text(
        "Records transferred from them to Nina New (User Transfer All) by Olivia Grant on"
    )
    expect(items.nth(1)).to_contain_text("1 client, 1 matter, 1 case")
    owns = page.get_by_role("region", name="What they own")
    expect(owns.get_by_role("link", name="0 cases")).to_be_visible()
    check_page(page)

    items.nth(0).get_by_role("link", name=f"receipt #{transfer.pk}").click()
    expect(
        page.get_by_role("heading", name=f"Transfer #{transfer.pk}: User Transfer All")
    ).to_be_visible()
