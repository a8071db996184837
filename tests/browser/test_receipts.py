"""The receipt after Save and from Transfer History: the CSV download and
Revert, in Chromium, with axe-core on every page."""

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from clients.models import Client
from tests.factories import ClientFactory, MatterFactory, OwnerFactory
from transfers.engine.services import records_transfer_all
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def finished_transfer(administrator):
    leaver = OwnerFactory(username="paul.reed", first_name="Paul", last_name="Reed")
    heir = OwnerFactory(username="vera.holt", first_name="Vera", last_name="Holt")
    for n in range(2):
        client = ClientFactory(owner=leaver, name=f"Reed Client {n + 1}")
        MatterFactory(client=client, owner=leaver)
    transfer = records_transfer_all(
        acting_user=administrator, old_user=leaver, new_user=heir, deactivate_old_user=True
    ).transfer
    return transfer, leaver, heir


def test_transfer_history_receipt_csv_and_revert(
    live_server, signed_in_page, check_page, administrator, finished_transfer
):
    transfer, leaver, heir = finished_transfer
    page = signed_in_page(administrator, "/settings/")
    page.get_by_role("region", name="User").get_by_role("link", name="Transfer History").click()
    expect(page.get_by_role("heading", name="Transfer History")).to_be_visible()
    check_page(page)
    row = page.get_by_role("row", name=re.compile(f"#{transfer.pk}"))
    expect(row).to_contain_text("Paul Reed")
    expect(row).to_contain_text("Vera Holt")
    row.get_by_role("link", name=f"#{transfer.pk}").click()

    expect(
        page.get_by_role("heading", name=f"Transfer #{transfer.pk}: User Transfer All")
    ).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Paul Reed was deactivated")
    records = page.get_by_role("table", name="Records moved")
    for client in Client.objects.filter(owner=heir):
        expect(records.get_by_role("link", name=re.compile(re.escape(client.name)))).to_be_visible()
    check_page(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 4  # header, 2 clients and 2 matters

    page.get_by_role("link", name="Revert").click()
    expect(page.get_by_role("heading", name=f"Revert transfer #{transfer.pk}")).to_be_visible()
    expect(
        page.get_by_text("Paul Reed, deactivated by this transfer, is reactivated")
    ).to_be_visible()
    check_page(page)
    page.get_by_role("button", name="Revert").click()

    expect(page.get_by_role("heading", name=re.compile(r"Transfer #\d+: Revert"))).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Paul Reed was reactivated")
    check_page(page)
    leaver.refresh_from_db()
    assert leaver.is_active
    assert Client.objects.filter(owner=leaver).count() == 2
    assert Transfer.objects.filter(reverted_transfer=transfer).exists()


def test_user_transfer_all_refuses_without_a_new_user(
    live_server, signed_in_page, check_page, administrator
):
    leaver = OwnerFactory(username="zoe.gray", first_name="Zoe", last_name="Gray")
    ClientFactory(owner=leaver)
    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/all/")
    expect(page.get_by_role("heading", name="User Transfer All")).to_be_visible()
    page.get_by_label("Deactivate the old user").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_text("Choose the user who receives everything.").first).to_be_visible()
    check_page(page)
    assert Transfer.objects.count() == 0
    leaver.refresh_from_db()
    assert leaver.is_active
