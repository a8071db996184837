"""Background transfers: a Save above TRANSFER_BACKGROUND_THRESHOLD is checked
at once, queued, run by the django-tasks database worker through the same
service, followed on a progress page and ends on the receipt (or its
refusal, or its failure, with nothing changed).

Transactional: the worker commits, as it does in production, and the
progress alias is a connection of its own."""

import io
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connections, transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clients.models import Case, Client, Matter
from clients.record_types import RECORD_TYPES
from tests.helpers import counts_of, default_groups_restore, snapshot
from tests.transfers.engine_support import Phases, at_step
from tests.transfers.job_support import run_worker
from transfers.background import submit, worker
from transfers.background.routers import PROGRESS_DATABASE
from transfers.engine import services
from transfers.engine.result import Verdict
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferJob, TransferProgress
from users.models import AccountEvent
from users.services import user_set_active

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", PROGRESS_DATABASE])


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def default_groups(transactional_db):
    """Transactional tests flush the database, groups included; put them back."""

    default_groups_restore()


@pytest.fixture(autouse=True)
def threshold(settings):
    """The firm's leaver holds 8 records (2 clients, 3 matters, 3 cases)."""
    settings.TRANSFER_BACKGROUND_THRESHOLD = 3


def all_url(user):
    return reverse("transfers:transfer_all", args=[user.pk])


def per_client_url(user):
    return reverse("transfers:transfer_per_client", args=[user.pk])


def queue_transfer_all(http, leaver_firm, **extra) -> TransferJob:
    data = {"new_user": leaver_firm.dana.pk, "request_key": str(uuid.uuid4()), **extra}
    response = http.post(all_url(leaver_firm.leaver), data)
    job = TransferJob.objects.get(request_key=data["request_key"])
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    return job


def moved_nothing(leaver_firm) -> bool:
    return not Transfer.objects.exists() and all(
        model.objects.filter(owner=leaver_firm.dana).count() == 0
        for model in (Client, Matter, Case)
    )


def test_save_above_the_threshold_queues_and_the_worker_lands_it_on_the_receipt(
    admin_http, leaver_firm
):
    before = snapshot()
    job = queue_transfer_all(admin_http, leaver_firm, deactivate_old_user="on")
    assert job.status == TransferJob.Status.QUEUED
    assert job.record_count == 8
    assert job.arguments == {"new_user": leaver_firm.dana.pk, "deactivate_old_user": True}
    assert snapshot() == before, "queued: nothing moves before the worker runs it"
    assert DBTaskResult.objects.get(id=job.task_id).status == "READY"

    page = admin_http.get(job.get_absolute_url())
    html = page.content.decode()
    assert "Transfer in progress" in html
    assert "Waiting for a worker to start it." in html
    assert '<label for="job-bar">Records moved</label>' in html
    assert '<progress id="job-bar" max="8" value="0"' in html
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html

    run_worker()

    job.refresh_from_db()
    transfer = Transfer.objects.get()
    assert job.status == TransferJob.Status.DONE
    assert job.transfer == transfer
    assert transfer.request_key == job.request_key
    assert counts_of(transfer)[:3] == (2, 3, 3)
    assert transfer.deactivated_from_user
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 3
    assert DBTaskResult.objects.get(id=job.task_id).status == "SUCCESSFUL"
    assert not TransferProgress.objects.using(PROGRESS_DATABASE).exists()

    done = admin_http.get(job.get_absolute_url(), follow=True)
    assert done.redirect_chain == [(transfer.get_absolute_url(), 302)]
    assert (
        "Transferred 2 clients, 3 matters, 3 cases and 1 share from Sam Leaver"
        in done.content.decode()
    )


def test_per_client_save_above_the_threshold_is_queued_too(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    data = {
        "client_ids": page.context["shown_client_ids"],
        "request_key": page.context["request_key"],
        "action": "save",
        f"client-{leaver_firm.acme.pk}": leaver_firm.dana.pk,
        f"client-{leaver_firm.bolt.pk}": leaver_firm.marcus.pk,
        f"client-{leaver_firm.crane.pk}": leaver_firm.dana.pk,
    }
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    job = TransferJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert job.mode == Transfer.Mode.PER_CLIENT
    run_worker()
    job.refresh_from_db()
    assert job.status == TransferJob.Status.DONE
    assert job.transfer.mode == Transfer.Mode.PER_CLIENT
    assert Matter.objects.get(number="M-00002").owner == leaver_firm.marcus
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 3


def test_save_at_or_below_the_threshold_runs_in_the_request(admin_http, leaver_firm, settings):
    settings.TRANSFER_BACKGROUND_THRESHOLD = 8
    response = admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": leaver_firm.dana.pk, "request_key": str(uuid.uuid4())},
    )
    transfer = Transfer.objects.get()
    assert response["Location"] == transfer.get_absolute_url()
    assert not TransferJob.objects.exists()


def test_a_refusal_is_shown_on_the_form_at_once_and_nothing_is_queued(
    admin_http, leaver_firm, manager
):
    before = snapshot()
    response = admin_http.post(
        all_url(leaver_firm.leaver), {"new_user": manager.pk, "request_key": str(uuid.uuid4())}
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["new_user"]] == [
        "new_user_ineligible"
    ]
    assert not TransferJob.objects.exists() and not DBTaskResult.objects.exists()
    assert snapshot() == before


def test_a_refusal_raised_inside_the_worker_is_shown_with_nothing_changed(
    admin_http, administrator, leaver_firm
):
    job = queue_transfer_all(admin_http, leaver_firm)
    # Between the Save and the worker, the new user leaves.
    user_set_active(user=leaver_firm.dana, is_active=False, acting_user=administrator)
    before = snapshot()
    run_worker()
    job.refresh_from_db()
    assert job.status == TransferJob.Status.REFUSED
    assert job.refusal_code == "new_user_inactive"
    assert snapshot() == before and moved_nothing(leaver_firm)

    page = admin_http.get(job.get_absolute_url())
    html = page.content.decode()
    assert "Transfer refused" in html
    assert "Dana Reyes is inactive and cannot be given records." in html
    assert "Nothing was changed." in html
    assert f'href="{all_url(leaver_firm.leaver)}"' in html
    status = admin_http.get(reverse("transfers:transfer_job_status", args=[job.pk])).json()
    assert status["status"] == "refused" and status["active"] is False


def test_a_second_save_while_one_is_queued_is_refused_with_a_link_to_it(admin_http, leaver_firm):
    job = queue_transfer_all(admin_http, leaver_firm)
    again = admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": leaver_firm.marcus.pk, "request_key": str(uuid.uuid4())},
    )
    assert again.status_code == 200
    errors = again.context["form"].errors.as_data()["__all__"]
    assert [error.code for error in errors] == ["transfer_in_progress"]
    assert f'<a href="{job.get_absolute_url()}">See the transfer in progress</a>' in (
        again.content.decode()
    )
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    notice = f'is queued in the background: <a href="{job.get_absolute_url()}">see its progress</a>'
    assert notice in page.content.decode()
    assert notice in admin_http.get(all_url(leaver_firm.leaver)).content.decode()
    per_client = admin_http.post(
        per_client_url(leaver_firm.leaver),
        {
            "client_ids": page.context["shown_client_ids"],
            "request_key": str(uuid.uuid4()),
            "action": "save",
            f"client-{leaver_firm.acme.pk}": leaver_firm.dana.pk,
            f"client-{leaver_firm.bolt.pk}": leaver_firm.dana.pk,
            f"client-{leaver_firm.crane.pk}": leaver_firm.dana.pk,
        },
    )
    assert per_client.status_code == 200
    assert "already queued or running" in per_client.content.decode()
    assert TransferJob.objects.count() == 1

    history = admin_http.get(reverse("transfers:transfer_list")).content.decode()
    assert "In progress" in history
    assert f'<a href="{job.get_absolute_url()}">Progress of the transfer from Sam Leaver</a>' in (
        history
    )


def test_the_database_allows_one_queued_or_running_job_per_user(administrator, leaver_firm):
    def job(status):
        return TransferJob(
            mode=Transfer.Mode.ALL,
            actor=administrator,
            from_user=leaver_firm.leaver,
            request_key=str(uuid.uuid4()),
            status=status,
        )

    job(TransferJob.Status.DONE).save()
    job(TransferJob.Status.FAILED).save()
    job(TransferJob.Status.QUEUED).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        job(TransferJob.Status.RUNNING).save()
    # The service turns the same race into the refusal, naming the job.
    with pytest.raises(TransferRefused) as refused:
        submit.transfer_job_queue(
            service=services.records_transfer_all,
            acting_user=administrator,
            old_user=leaver_firm.leaver,
            new_user=leaver_firm.dana,
            record_count=8,
            request_key=None,
        )
    assert refused.value.code == "transfer_in_progress"
    assert refused.value.job.status == TransferJob.Status.QUEUED


def test_double_submit_of_a_queued_save_gives_one_transfer(admin_http, leaver_firm):
    data = {"new_user": leaver_firm.dana.pk, "request_key": str(uuid.uuid4())}
    first = admin_http.post(all_url(leaver_firm.leaver), data)
    second = admin_http.post(all_url(leaver_firm.leaver), data, follow=True)
    job = TransferJob.objects.get()
    assert first["Location"] == job.get_absolute_url()
    assert second.redirect_chain == [(job.get_absolute_url(), 302)]
    assert "This form was already saved" in second.content.decode()
    assert DBTaskResult.objects.count() == 1
    run_worker()
    third = admin_http.post(all_url(leaver_firm.leaver), data, follow=True)
    transfer = Transfer.objects.get()
    assert third.redirect_chain[-1] == (transfer.get_absolute_url(), 302)
    assert Transfer.objects.count() == 1 and TransferJob.objects.count() == 1


def test_a_worker_crash_mid_transfer_changes_nothing_and_the_job_shows_failed(
    admin_http, leaver_firm
):
    job = queue_transfer_all(admin_http, leaver_firm, deactivate_old_user="on")
    before = snapshot()

    def crash(**details):
        raise Boom("worker lost its connection")

    # Clients, matters and cases moved: then it dies.
    with at_step("move_owned", crash, call=3) as reached:
        run_worker()
    assert reached["move_owned"] == 3 and not reached["move_shares"]
    job.refresh_from_db()
    assert job.status == TransferJob.Status.FAILED
    assert "Boom: worker lost its connection" in job.message
    assert snapshot() == before and moved_nothing(leaver_firm)
    assert DBTaskResult.objects.get(id=job.task_id).status == "FAILED"
    assert not TransferProgress.objects.using(PROGRESS_DATABASE).exists()

    html = admin_http.get(job.get_absolute_url()).content.decode()
    assert "Transfer failed" in html and "Boom: worker lost its connection" in html
    assert "Nothing was changed" in html
    # The user is free again: a new Save is queued and runs.
    queue_transfer_all(admin_http, leaver_firm)
    run_worker()
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 3


def test_progress_is_readable_by_another_connection_while_the_transaction_is_open(
    administrator, leaver_firm
):
    job = submit.transfer_job_queue(
        service=services.records_transfer_all,
        acting_user=administrator,
        old_user=leaver_firm.leaver,
        new_user=leaver_firm.dana,
        record_count=8,
        request_key=None,
    )
    viewer = HttpClient()
    viewer.force_login(administrator)
    status_url = reverse("transfers:transfer_job_status", args=[job.pk])
    seen = []

    def look_from_another_request():
        # The worker's progress thread writes the state it notes within a
        # quarter of a second; ask like the page does until it shows.
        try:
            for _ in range(200):
                response = viewer.get(status_url)
                if response.status_code == 200 and response.json()["phase"] == "shares":
                    seen.append(response.json())
                    return
                time.sleep(0.05)
        finally:
            connections.close_all()

    def look_during_shares(**details):
        # The cases have moved inside the open transaction; ask like the page does.
        thread = threading.Thread(target=look_from_another_request)
        thread.start()
        thread.join()

    with at_step("move_shares", look_during_shares):
        worker.transfer_job_run.call(job.pk)
    assert len(seen) == 1
    assert seen[0]["status"] == "running"
    assert seen[0]["phase"] == "shares"
    assert (seen[0]["client"], seen[0]["matter"], seen[0]["case"]) == (2, 3, 3)
    assert seen[0]["moved"] == 8 and seen[0]["total"] == 8
    job.refresh_from_db()
    assert job.status == TransferJob.Status.DONE


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_transfer_user_shows_phases_on_a_terminal_and_stays_quiet_otherwise(
    administrator, leaver_firm
):
    stderr, stdout = Terminal(), io.StringIO()
    args = [
        leaver_firm.leaver.username,
        "--to",
        leaver_firm.dana.username,
        "--by",
        administrator.username,
    ]
    call_command("transfer_user", *args, "--dry-run", stdout=stdout, stderr=stderr)
    shown = stderr.getvalue()
    for label in ("Moving clients", "Moving matters", "Moving cases", "Moving shares"):
        assert label in shown
    assert "Writing the receipt: 2 clients, 3 matters, 3 cases, 1 shares" in shown
    quiet = io.StringIO()
    call_command("transfer_user", *args, stdout=io.StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 3


def test_job_pages_need_the_permission_to_view_transfers(admin_http, leaver_firm, attorney):
    job = queue_transfer_all(admin_http, leaver_firm)
    other = HttpClient()
    other.force_login(attorney)
    assert other.get(job.get_absolute_url()).status_code == 403
    assert other.get(reverse("transfers:transfer_job_status", args=[job.pk])).status_code == 403
    assert snapshot()["Case"]  # untouched fixture data still there


def test_a_worker_told_to_stop_at_once_fails_the_job_and_rolls_back(admin_http, leaver_firm):
    job = queue_transfer_all(admin_http, leaver_firm)
    before = snapshot()

    def stop_now(**details):
        raise SystemExit(1)

    with at_step("move_shares", stop_now), pytest.raises(SystemExit):
        worker.transfer_job_run.call(job.pk)
    job.refresh_from_db()
    assert job.status == TransferJob.Status.FAILED
    assert job.message == worker.WORKER_STOPPED_MESSAGE
    assert snapshot() == before and moved_nothing(leaver_firm)


# --- reverts in the background --------------------------------------------------


def revert_url(transfer):
    return reverse("transfers:transfer_revert", args=[transfer.pk])


def transferred_to_dana(administrator, leaver_firm, **extra) -> Transfer:
    """A Transfer All of the leaver's 8 records, run by the service itself."""
    return services.records_transfer_all(
        acting_user=administrator, old_user=leaver_firm.leaver, new_user=leaver_firm.dana, **extra
    ).transfer


def queue_revert(http, transfer) -> TransferJob:
    key = str(uuid.uuid4())
    response = http.post(revert_url(transfer), {"request_key": key})
    job = TransferJob.objects.get(request_key=key)
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    return job


def test_revert_above_the_threshold_is_queued_and_the_worker_lands_it_on_its_receipt(
    admin_http, administrator, leaver_firm
):
    transfer = transferred_to_dana(administrator, leaver_firm, deactivate_old_user=True)
    before = snapshot()
    job = queue_revert(admin_http, transfer)
    assert (job.mode, job.from_user, job.record_count) == ("revert", leaver_firm.leaver, 8)
    assert job.arguments == {"transfer": transfer.pk}
    assert snapshot() == before, "queued: nothing moves back before the worker runs it"

    page = admin_http.get(job.get_absolute_url())
    html = page.content.decode()
    assert f"The revert of transfer #{transfer.pk} (8 records) is queued" in html
    assert "<h1>Revert in progress</h1>" in html
    detail = transfer.get_absolute_url()
    assert f'<dt>Reverting</dt><dd><a href="{detail}">Transfer #{transfer.pk}</a></dd>' in html
    assert '<progress id="job-bar" max="8" value="0"' in html
    history = admin_http.get(reverse("transfers:transfer_list")).content.decode()
    link = (
        f'<a href="{job.get_absolute_url()}">Progress of the revert of transfer #{transfer.pk}</a>'
    )
    assert link in history

    run_worker()

    job.refresh_from_db()
    revert = Transfer.objects.get(mode=Transfer.Mode.REVERT)
    assert job.status == TransferJob.Status.DONE and job.transfer == revert
    assert revert.request_key == job.request_key and revert.reverted_transfer == transfer
    assert counts_of(revert)[:3] == (2, 3, 3)
    assert revert.reactivated_user
    leaver_firm.leaver.refresh_from_db()
    assert leaver_firm.leaver.is_active
    assert Case.objects.filter(owner=leaver_firm.leaver).count() == 3
    assert not Case.objects.filter(owner=leaver_firm.dana).exists()
    done = admin_http.get(job.get_absolute_url(), follow=True)
    assert done.redirect_chain == [(revert.get_absolute_url(), 302)]
    assert f"Reverted transfer #{transfer.pk}: moved back 2 clients" in done.content.decode()


def test_revert_at_or_below_the_threshold_runs_in_the_request(
    admin_http, administrator, leaver_firm, settings
):
    settings.TRANSFER_BACKGROUND_THRESHOLD = 8
    transfer = transferred_to_dana(administrator, leaver_firm)
    response = admin_http.post(revert_url(transfer), {"request_key": str(uuid.uuid4())})
    revert = Transfer.objects.get(mode=Transfer.Mode.REVERT)
    assert response["Location"] == revert.get_absolute_url()
    assert not TransferJob.objects.exists()
    assert Case.objects.filter(owner=leaver_firm.leaver).count() == 3


def test_a_revert_refused_inside_the_worker_changes_nothing_and_says_why(
    admin_http, administrator, leaver_firm
):
    transfer = transferred_to_dana(administrator, leaver_firm)
    job = queue_revert(admin_http, transfer)
    # Another administrator's revert of it is refused while the job is queued
    # (one active transfer per user, in the engine itself).
    with pytest.raises(TransferRefused) as refused:
        services.transfer_revert(acting_user=administrator, transfer=transfer)
    assert refused.value.code == "transfer_in_progress"
    # Before the worker starts, the leaver loses the permission to own records.
    leaver_firm.leaver.groups.clear()
    before = snapshot()
    run_worker()
    job.refresh_from_db()
    assert job.status == TransferJob.Status.REFUSED
    assert job.refusal_code == "revert_conflict"
    assert snapshot() == before
    assert not Transfer.objects.filter(mode=Transfer.Mode.REVERT).exists()

    html = admin_http.get(job.get_absolute_url()).content.decode()
    assert "<h1>Revert refused</h1>" in html
    assert "Sam Leaver" in html and "This transfer cannot be reverted" in html
    assert "Nothing was changed." in html
    assert f'<a class="button" href="{transfer.get_absolute_url()}">Back to transfer #' in html


def test_a_second_revert_while_one_is_queued_is_refused_with_a_link_to_it(
    admin_http, administrator, leaver_firm
):
    transfer = transferred_to_dana(administrator, leaver_firm)
    job = queue_revert(admin_http, transfer)
    again = admin_http.post(revert_url(transfer), {"request_key": str(uuid.uuid4())})
    assert again.status_code == 200
    html = again.content.decode()
    assert "already queued or running" in html
    assert f'<a href="{job.get_absolute_url()}">See the transfer in progress</a>' in html
    assert TransferJob.objects.count() == 1
    confirm = admin_http.get(reverse("transfers:transfer_revert_confirm", args=[transfer.pk]))
    html = confirm.content.decode()
    assert "already queued or running" in html and job.get_absolute_url() in html
    assert 'class="danger">Revert</button>' not in html


def test_double_submit_of_a_queued_revert_gives_one_revert(admin_http, administrator, leaver_firm):
    transfer = transferred_to_dana(administrator, leaver_firm)
    data = {"request_key": str(uuid.uuid4())}
    first = admin_http.post(revert_url(transfer), data)
    second = admin_http.post(revert_url(transfer), data, follow=True)
    job = TransferJob.objects.get()
    assert first["Location"] == job.get_absolute_url()
    assert second.redirect_chain == [(job.get_absolute_url(), 302)]
    assert "This revert was already saved: here is its progress." in second.content.decode()
    run_worker()
    third = admin_http.post(revert_url(transfer), data, follow=True)
    revert = Transfer.objects.get(mode=Transfer.Mode.REVERT)
    assert third.redirect_chain[-1] == (revert.get_absolute_url(), 302)
    assert TransferJob.objects.count() == 1 and DBTaskResult.objects.count() == 1


def test_a_revert_reports_its_phases_and_counts_and_validate_only_moves_nothing(
    administrator, leaver_firm
):
    transfer = transferred_to_dana(administrator, leaver_firm)
    before = snapshot()
    checked = services.transfer_revert(
        acting_user=administrator, transfer=transfer, validate_only=True
    )
    assert checked == Verdict() and not checked.replayed and snapshot() == before

    hook = Phases()
    revert = services.transfer_revert(
        acting_user=administrator, transfer=transfer, progress=hook
    ).transfer
    assert hook.seen == [*(t.plural for t in RECORD_TYPES), "shares", "receipt"]
    assert hook.counts.phrases(zeros=False) == ["2 clients", "3 matters", "3 cases", "1 share"]
    assert revert.record_counts.shares == 1
    with pytest.raises(TransferRefused) as refused:
        services.transfer_revert(acting_user=administrator, transfer=transfer, validate_only=True)
    assert refused.value.code == "revert_not_allowed"


# --- what a Save keeps for its worker ------------------------------------------------


def test_a_user_transfer_queued_with_users_and_a_view_of_ids_runs_as_it_was_saved(
    administrator, leaver_firm
):
    """The screen passes users and the dict's keys; the job keeps them as JSON ids."""
    firm = leaver_firm
    assignments = {firm.acme.pk: firm.dana, firm.bolt.pk: firm.marcus, firm.crane.pk: firm.dana}
    job = submit.transfer_submit(
        service=services.records_transfer_per_client,
        acting_user=administrator,
        old_user=firm.leaver,
        assignments=assignments,
        expected_client_ids=assignments.keys(),
        request_key=None,
    ).job

    assert (job.actor_name, job.from_user_name) == ("Olivia Grant", "Sam Leaver")
    assert job.arguments["assignments"] == {
        str(firm.acme.pk): firm.dana.pk,
        str(firm.bolt.pk): firm.marcus.pk,
        str(firm.crane.pk): firm.dana.pk,
    }
    assert sorted(job.arguments["expected_client_ids"]) == sorted(assignments)
    run_worker()
    job.refresh_from_db()
    assert job.status == TransferJob.Status.DONE
    assert Client.objects.get(pk=firm.bolt.pk).owner == firm.marcus
    assert Client.objects.get(pk=firm.acme.pk).owner == firm.dana


def test_a_save_made_at_once_and_sent_again_answers_with_its_receipt(
    administrator, leaver_firm, settings
):
    """Saved in the request, sent again once it would go to the queue (the firm
    lowered the threshold between the two): its receipt, and no job."""
    settings.TRANSFER_BACKGROUND_THRESHOLD = 100
    arguments = {
        "service": services.records_transfer_all,
        "acting_user": administrator,
        "old_user": leaver_firm.leaver,
        "new_user": leaver_firm.dana,
        "record_count": 8,
        "request_key": "saved-once",
    }
    first = submit.transfer_submit(**arguments)
    settings.TRANSFER_BACKGROUND_THRESHOLD = 3

    again = submit.transfer_submit(**arguments)

    assert (again.transfer, again.job, again.replayed) == (first.transfer, None, True)
    assert not TransferJob.objects.exists() and Transfer.objects.count() == 1


def test_a_schedule_for_this_very_instant_is_refused(administrator, leaver_firm, monkeypatch):
    instant = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: instant)
    with pytest.raises(TransferRefused) as refused:
        submit.transfer_submit(
            service=services.records_transfer_all,
            acting_user=administrator,
            old_user=leaver_firm.leaver,
            new_user=leaver_firm.dana,
            run_at=instant,
        )
    assert (refused.value.code, refused.value.field) == ("schedule_in_past", "run_at")
    assert not TransferJob.objects.exists()


def test_a_user_with_a_queued_transfer_is_told_so_before_anything_else(administrator, leaver_firm):
    job = submit.transfer_job_queue(
        service=services.records_transfer_all,
        acting_user=administrator,
        old_user=leaver_firm.leaver,
        new_user=leaver_firm.dana,
        record_count=8,
        request_key=None,
    )
    with pytest.raises(TransferRefused) as refused:
        submit.transfer_submit(
            service=services.records_transfer_all,
            acting_user=administrator,
            old_user=leaver_firm.leaver,
            new_user=leaver_firm.marcus,
            run_at=timezone.now() - timedelta(minutes=1),
        )
    assert refused.value.code == "transfer_in_progress" and refused.value.job == job


def test_the_same_save_racing_itself_into_the_queue_gives_the_one_job(
    administrator, leaver_firm, monkeypatch
):
    """A double click: the other request's job is committed after this one looked
    for it and before its own insert, which the unique request key refuses."""
    arguments = {
        "service": services.records_transfer_all,
        "acting_user": administrator,
        "old_user": leaver_firm.leaver,
        "new_user": leaver_firm.dana,
        "record_count": 8,
        "request_key": "clicked-twice",
    }
    the_other_requests = submit.transfer_job_queue(**arguments)
    find = TransferJob.objects.filter
    looks = []

    def looked_before_it_committed(*args, **kwargs):
        looks.append(kwargs)
        return TransferJob.objects.none() if len(looks) == 1 else find(*args, **kwargs)

    monkeypatch.setattr(TransferJob.objects, "filter", looked_before_it_committed)
    job = submit.transfer_job_queue(**arguments)

    assert looks[0] == {"request_key": "clicked-twice"} and len(looks) > 1
    assert job == the_other_requests and TransferJob.objects.count() == 1


def test_a_save_that_suspends_the_leaver_says_why_in_their_history(
    administrator, leaver_firm, settings
):
    """Moved now or queued, the reason is the same; a scheduled one names its time
    (tests/transfers/test_scheduled.py)."""
    settings.TRANSFER_BACKGROUND_THRESHOLD = 1
    for old_user, record_count in ((leaver_firm.leaver, 8), (leaver_firm.marcus, 1)):
        submitted = submit.transfer_submit(
            service=services.records_transfer_all,
            acting_user=administrator,
            old_user=old_user,
            new_user=leaver_firm.dana,
            record_count=record_count,
            suspend_sign_in=True,
            request_key=None,
        )
        assert (submitted.job is None) == (record_count == 1)
        event = AccountEvent.objects.get(user=old_user, kind=AccountEvent.Kind.SIGN_IN_SUSPENDED)
        assert event.detail == "Reason: Leaving: records transferred"


def test_a_suspension_that_would_be_refused_is_refused_next_to_its_box(administrator, leaver_firm):
    with pytest.raises(TransferRefused) as refused:
        submit.transfer_submit(
            service=services.records_transfer_all,
            acting_user=administrator,
            old_user=administrator,
            new_user=leaver_firm.dana,
            suspend_sign_in=True,
        )
    assert (refused.value.code, refused.value.field) == ("suspend_self", "suspend_sign_in")
    assert refused.value.message == "You cannot suspend your own sign-in."
