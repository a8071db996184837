"""Scheduled transfers in Chromium: an administrator schedules a Transfer All a
few seconds ahead on the form's *When*, a worker runs it at that time, and the
scheduled page turns into the receipt by itself; a cancelled one moves
nothing; one whose recipient left meanwhile is refused at its time, with the
reason where the receipt would be."""

import re
import time
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clients.models import Case, Client, Matter
from tests.browser.test_transfer_guide import _holdings
from tests.factories import OwnerFactory
from tests.transfers.job_support import run_worker
from transfers.background.routers import PROGRESS_DATABASE
from transfers.models import Transfer, TransferJob
from users.services import user_set_active

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", PROGRESS_DATABASE])

SECONDS_AHEAD = 4


@pytest.fixture
def leaver_and_heir():
    leaver = OwnerFactory(username="sam.leaver", first_name="Sam", last_name="Leaver")
    heir = OwnerFactory(username="dana.reyes", first_name="Dana", last_name="Reyes")
    _holdings(leaver)  # 2 clients, 4 matters, 8 cases
    return leaver, heir


def owned(user) -> tuple[int, int, int]:
    return tuple(model.objects.filter(owner=user).count() for model in (Client, Matter, Case))


def schedule(page, heir, *, deactivate: bool) -> TransferJob:
    """Fill User Transfer All for a few seconds ahead and save it."""
    run_at = timezone.localtime() + timedelta(seconds=SECONDS_AHEAD)
    page.get_by_label("New user").select_option(str(heir.pk))
    if deactivate:
        page.get_by_label("Deactivate the old user").check()
    page.get_by_label("On a date and time").check()
    page.get_by_label("Date and time", exact=True).fill(run_at.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Transfer scheduled")).to_be_visible()
    job = TransferJob.objects.get()
    expect(page).to_have_url(re.compile(rf"/transfers/jobs/{job.pk}/$"))
    expect(page.get_by_text(f"Scheduled for {job.run_at_text}").first).to_be_visible()
    return job


def when_its_time_a_worker_runs(job: TransferJob) -> None:
    time.sleep(max(0.0, (job.run_at - timezone.now()).total_seconds()) + 0.2)
    run_worker()


def test_a_transfer_all_scheduled_seconds_ahead_runs_then_and_shows_its_receipt(
    signed_in_page, administrator, leaver_and_heir, check_page
):
    leaver, heir = leaver_and_heir
    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/all/")
    expect(page.get_by_text(re.compile(r"In the firm's time zone \(UTC\)"))).to_be_visible()
    job = schedule(page, heir, deactivate=True)
    check_page(page)
    assert owned(heir) == (0, 0, 0), "nothing moves before its time"

    when_its_time_a_worker_runs(job)

    transfer = Transfer.objects.get(request_key=job.request_key)
    expect(page).to_have_url(re.compile(rf"/transfers/{transfer.pk}/$"))
    expect(page.get_by_text("Transferred 2 clients, 4 matters and 8 cases")).to_be_visible()
    expect(page.get_by_text("Sam Leaver was deactivated.").first).to_be_visible()
    leaver.refresh_from_db()
    assert owned(heir) == (2, 4, 8) and owned(leaver) == (0, 0, 0)
    assert not leaver.is_active


def test_a_scheduled_transfer_cancelled_before_its_time_moves_nothing(
    signed_in_page, administrator, leaver_and_heir
):
    leaver, heir = leaver_and_heir
    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/all/")
    job = schedule(page, heir, deactivate=False)
    page.goto(page.url.split("/settings/")[0] + "/settings/transfers/")
    expect(page.get_by_text(f"Scheduled for {job.run_at_text}")).to_be_visible()
    page.get_by_role("button", name=f"Cancel {job.title}").click()
    expect(page.get_by_role("heading", name="Transfer cancelled")).to_be_visible()
    expect(page.get_by_text("Cancelled by Olivia Grant on").first).to_be_visible()

    when_its_time_a_worker_runs(job)

    job.refresh_from_db()
    assert job.status == TransferJob.Status.CANCELLED
    assert not Transfer.objects.exists() and owned(heir) == (0, 0, 0)
    assert owned(leaver) == (2, 4, 8)


def test_a_scheduled_transfer_whose_recipient_left_is_refused_at_its_time(
    signed_in_page, administrator, leaver_and_heir
):
    leaver, heir = leaver_and_heir
    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/all/")
    job = schedule(page, heir, deactivate=True)
    user_set_active(user=heir, is_active=False, acting_user=administrator)

    when_its_time_a_worker_runs(job)

    expect(page.get_by_role("heading", name="Transfer refused")).to_be_visible()
    job.refresh_from_db()
    assert job.status == TransferJob.Status.REFUSED
    expect(page.get_by_role("alert")).to_contain_text(unescape(job.message))
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    leaver.refresh_from_db()
    assert leaver.is_active and owned(leaver) == (2, 4, 8) and not Transfer.objects.exists()
