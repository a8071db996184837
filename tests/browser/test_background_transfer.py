"""A Save above the background threshold in Chromium: the administrator
lands on the progress page at once, the worker runs the transfer, and the
page ends on the receipt by itself (by script, and by meta refresh without
script)."""

import re

import pytest
from playwright.sync_api import expect

from clients.models import Case
from tests.browser.test_transfer_guide import _holdings
from tests.factories import OwnerFactory
from tests.transfers.job_support import run_worker
from transfers.models import Transfer, TransferJob
from transfers.routers import PROGRESS_DATABASE

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", PROGRESS_DATABASE])


@pytest.fixture
def leaver_and_heir(settings):
    settings.TRANSFER_BACKGROUND_THRESHOLD = 5
    leaver = OwnerFactory(username="sam.leaver", first_name="Sam", last_name="Leaver")
    heir = OwnerFactory(username="dana.reyes", first_name="Dana", last_name="Reyes")
    _holdings(leaver)  # 2 clients, 4 matters, 8 cases: 14 records, above 5
    return leaver, heir


def save_transfer_all(page, leaver, heir):
    page.get_by_label("New user").select_option(str(heir.pk))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Transfer in progress")).to_be_visible()
    job = TransferJob.objects.get(from_user=leaver)
    expect(page).to_have_url(re.compile(rf"/transfers/jobs/{job.pk}/$"))
    return job


def test_a_queued_save_shows_its_progress_and_lands_on_the_receipt(
    signed_in_page, administrator, leaver_and_heir, check_page
):
    leaver, heir = leaver_and_heir
    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/all/")
    job = save_transfer_all(page, leaver, heir)
    bar = page.get_by_role("progressbar", name="Records moved")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("max", "14")
    expect(page.get_by_text("Waiting for a worker to start it.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Elapsed: \d+ s$"))).to_be_visible()
    check_page(page)
    assert Case.objects.filter(owner=heir).count() == 0, "nothing moves before the worker"

    run_worker()

    transfer = Transfer.objects.get(request_key=job.request_key)
    expect(page).to_have_url(re.compile(rf"/transfers/{transfer.pk}/$"))
    expect(
        page.get_by_text("Transferred 2 clients, 4 matters, 8 cases and 0 deadlines")
    ).to_be_visible()
    check_page(page)
    assert Case.objects.filter(owner=heir).count() == 8


def test_without_script_the_progress_page_refreshes_itself_to_the_receipt(
    browser, live_server, session_cookie_for, administrator, leaver_and_heir
):
    leaver, heir = leaver_and_heir
    context = browser.new_context(java_script_enabled=False)
    try:
        context.set_default_timeout(10_000)
        context.add_cookies([session_cookie_for(administrator)])
        page = context.new_page()
        page.goto(f"{live_server.url}/settings/transfers/users/{leaver.pk}/all/")
        job = save_transfer_all(page, leaver, heir)
        run_worker()
        transfer = Transfer.objects.get(request_key=job.request_key)
        expect(page).to_have_url(re.compile(rf"/transfers/{transfer.pk}/$"))
    finally:
        context.close()
