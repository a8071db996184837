"""Jobs never wait forever: a worker shows it is alive by a heartbeat, the
reaper every worker runs ends the jobs whose heartbeat stopped (wherever the
worker ran, whatever its process id), GET pages never write, a queued job can
be cancelled, and the engine itself allows one active transfer per old user.

Transactional: the worker commits, as it does in production."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from clients.models import Case
from tests.helpers import default_groups_restore, snapshot
from tests.transfers.job_support import run_worker
from transfers.background import reaper, state, submit, worker
from transfers.background.routers import PROGRESS_DATABASE
from transfers.background.worker import job_finish
from transfers.engine import services
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferJob, TransferProgress

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", PROGRESS_DATABASE])

Status = TransferJob.Status
TIMEOUT = 60


@pytest.fixture(autouse=True)
def default_groups(transactional_db):
    """Transactional tests flush the database, groups included; put them back."""

    default_groups_restore()


@pytest.fixture(autouse=True)
def background(settings):
    """The firm's leaver holds 8 records (2 clients, 3 matters, 3 cases)."""
    settings.TRANSFER_BACKGROUND_THRESHOLD = 3
    settings.TRANSFER_JOB_HEARTBEAT_TIMEOUT = TIMEOUT


def queued(administrator, leaver_firm, *, old_user=None, record_count=8) -> TransferJob:
    """A queued Transfer All to Dana, of the leaver's 8 records unless told otherwise."""
    return submit.transfer_job_queue(
        service=services.records_transfer_all,
        acting_user=administrator,
        old_user=old_user or leaver_firm.leaver,
        new_user=leaver_firm.dana,
        record_count=record_count,
        request_key=None,
    )


def running(
    administrator, leaver_firm, *, worker: str, claimed_ago: float, beat_ago=None, old_user=None
):
    """A job a worker claimed `claimed_ago` seconds ago; with `beat_ago`, its
    progress row (the heartbeat while the transaction is open) that long ago."""
    job = queued(administrator, leaver_firm, old_user=old_user)
    claimed = timezone.now() - timedelta(seconds=claimed_ago)
    TransferJob.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, started_at=claimed, heartbeat_at=claimed, worker=worker
    )
    if beat_ago is not None:
        TransferProgress.objects.using(PROGRESS_DATABASE).create(
            job_id=job.pk,
            phase="cases",
            counts={"case": 2},
            updated_at=timezone.now() - timedelta(seconds=beat_ago),
        )
    job.refresh_from_db()
    return job


def ended_pid() -> int:
    """The process id of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout)


def free_for_a_new_transfer(administrator, leaver_firm) -> bool:
    return queued(administrator, leaver_firm).status == Status.QUEUED


# --- the three workers: alive, dead, on another host -------------------------------

HOST = socket.gethostname()


@pytest.mark.parametrize(
    ("worker", "claimed_ago", "beat_ago", "expected"),
    [
        # Alive: a heartbeat 5 s ago, though its PID means nothing here (ended).
        pytest.param("ended", 600, 5, Status.RUNNING, id="alive, its pid ended on this host"),
        pytest.param(f"{HOST}:{os.getpid()}", 10, None, Status.RUNNING, id="alive, just claimed"),
        # Dead: no heartbeat for two minutes, though its PID exists (this very process).
        pytest.param(f"{HOST}:{os.getpid()}", 600, 120, Status.FAILED, id="dead, its pid exists"),
        # A worker in its own PID namespace records pid 1, which always exists.
        pytest.param(f"{HOST}:1", 600, 120, Status.FAILED, id="dead, pid 1 in a container"),
        pytest.param("worker-2.example:4242", 600, 120, Status.FAILED, id="dead, another host"),
        pytest.param("worker-2.example:4242", 600, 5, Status.RUNNING, id="alive, another host"),
        pytest.param("worker-2.example:4242", 120, None, Status.FAILED, id="dead before a beat"),
    ],
)
def test_a_worker_is_alive_exactly_while_its_heartbeat_is_fresh(
    administrator, leaver_firm, admin_http, worker, claimed_ago, beat_ago, expected
):
    if worker == "ended":
        worker = f"{HOST}:{ended_pid()}"
    job = running(
        administrator, leaver_firm, worker=worker, claimed_ago=claimed_ago, beat_ago=beat_ago
    )
    before = snapshot()

    ended = reaper.transfer_jobs_reap()

    job.refresh_from_db()
    assert job.status == expected
    assert snapshot() == before
    page = admin_http.get(job.get_absolute_url()).content.decode()
    if expected == Status.FAILED:
        assert ended == {job.pk: Status.FAILED}
        assert job.message == reaper.worker_gone_message()
        assert "no heartbeat for 60 seconds" in job.message
        assert "<h1>Transfer failed</h1>" in page and "Nothing was changed" in page
        assert not TransferProgress.objects.using(PROGRESS_DATABASE).filter(job_id=job.pk).exists()
        assert free_for_a_new_transfer(administrator, leaver_firm)
    else:
        assert ended == {}
        assert "<h1>Transfer in progress</h1>" in page
        with pytest.raises(TransferRefused) as refused:
            queued(administrator, leaver_firm)
        assert refused.value.code == "transfer_in_progress"


def test_get_pages_never_write_a_jobs_state(administrator, leaver_firm, admin_http):
    dead = running(administrator, leaver_firm, worker=f"{HOST}:1", claimed_ago=600, beat_ago=300)
    status_url = reverse("transfers:transfer_job_status", args=[dead.pk])

    data = admin_http.get(status_url).json()
    admin_http.get(dead.get_absolute_url())
    admin_http.get(reverse("transfers:transfer_list"))
    admin_http.get(reverse("transfers:transfer_all", args=[leaver_firm.leaver.pk]))

    assert data["status"] == "running" and data["active"] is True
    job = TransferJob.objects.get(pk=dead.pk)
    assert (job.status, job.finished_at, job.message) == (Status.RUNNING, None, "")
    assert TransferProgress.objects.using(PROGRESS_DATABASE).filter(job_id=job.pk).exists()


def test_a_committed_receipt_shows_done_without_a_write_and_the_reaper_marks_it_done(
    administrator, leaver_firm, admin_http
):
    """The worker died between its transfer's commit and its own last write."""
    job = running(administrator, leaver_firm, worker=f"{HOST}:1", claimed_ago=600)
    transfer = services.records_transfer_all(
        acting_user=administrator,
        old_user=leaver_firm.leaver,
        new_user=leaver_firm.dana,
        request_key=job.request_key,
    ).transfer

    response = admin_http.get(job.get_absolute_url())
    assert response["Location"] == transfer.get_absolute_url()
    assert TransferJob.objects.get(pk=job.pk).status == Status.RUNNING  # read, not written

    assert reaper.transfer_jobs_reap() == {job.pk: Status.DONE}
    job.refresh_from_db()
    assert job.status == Status.DONE and job.transfer == transfer


def test_a_heartbeat_as_old_as_the_timeout_is_still_alive(administrator, leaver_firm):
    job = running(administrator, leaver_firm, worker="worker-2.example:4242", claimed_ago=600)
    limit = job.heartbeat_at + timedelta(seconds=TIMEOUT)

    assert reaper.transfer_jobs_reap(now=limit) == {}
    assert reaper.transfer_jobs_reap(now=limit + timedelta(microseconds=1)) == {
        job.pk: Status.FAILED
    }


def test_a_running_job_from_before_heartbeats_is_judged_by_when_it_started(
    administrator, leaver_firm
):
    job = running(administrator, leaver_firm, worker="worker-2.example:4242", claimed_ago=10)
    TransferJob.objects.filter(pk=job.pk).update(
        heartbeat_at=None, created_at=timezone.now() - timedelta(seconds=600)
    )
    assert reaper.transfer_jobs_reap() == {}
    job.refresh_from_db()
    limit = job.started_at + timedelta(seconds=TIMEOUT, microseconds=1)
    assert reaper.transfer_jobs_reap(now=limit) == {job.pk: Status.FAILED}


def test_a_dead_job_whose_task_row_is_gone_is_ended_all_the_same(administrator, leaver_firm):
    """The queue's finished results may be pruned; a job does not need its task row."""
    job = running(administrator, leaver_firm, worker="worker-2.example:4242", claimed_ago=600)
    DBTaskResult.objects.filter(id=job.task_id).delete()
    assert reaper.transfer_jobs_reap() == {job.pk: Status.FAILED}
    job.refresh_from_db()
    assert job.message == reaper.worker_gone_message()


def test_a_job_that_cannot_be_ended_this_round_holds_back_no_other(
    administrator, leaver_firm, monkeypatch, caplog
):
    """One dead job whose row is busy (SQLite locked, say) is logged and left for
    the next round; the other dead jobs are ended in this one."""
    sams = running(administrator, leaver_firm, worker="worker-2.example:1", claimed_ago=600)
    marcuss = running(
        administrator,
        leaver_firm,
        worker="worker-3.example:1",
        claimed_ago=600,
        old_user=leaver_firm.marcus,
    )
    reap = reaper.transfer_job_reap
    busy = []

    def first_one_busy(*, job):
        if not busy:
            busy.append(job.pk)
            raise OperationalError("database is locked")
        return reap(job=job)

    monkeypatch.setattr(reaper, "transfer_job_reap", first_one_busy)
    ended = reaper.transfer_jobs_reap()

    [left] = busy
    [reaped] = {sams.pk, marcuss.pk} - {left}
    assert ended == {reaped: Status.FAILED}
    assert TransferJob.objects.get(pk=left).status == Status.RUNNING
    logged = [record.getMessage() for record in caplog.records]
    assert f"Could not end transfer job {left}" in logged
    assert f"Transfer job {reaped} given up for dead: failed" in logged

    monkeypatch.setattr(reaper, "transfer_job_reap", reap)
    assert reaper.transfer_jobs_reap() == {left: Status.FAILED}


# --- the gap between the worker's claim of the task and of the job ------------------


def claim_task(job: TransferJob, *, ago: float) -> DBTaskResult:
    """What db_worker does before it calls the task: the task row RUNNING."""
    task = DBTaskResult.objects.get(id=job.task_id)
    task.claim("worker-that-died")
    DBTaskResult.objects.filter(id=task.id).update(
        started_at=timezone.now() - timedelta(seconds=ago)
    )
    task.refresh_from_db()
    return task


def test_a_job_whose_task_was_claimed_by_a_worker_that_died_is_failed(
    administrator, leaver_firm, admin_http
):
    job = queued(administrator, leaver_firm)
    task = claim_task(job, ago=120)
    before = snapshot()
    run_worker()  # a restarted worker: it picks up only READY tasks, and reaps at start

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.message == reaper.worker_gone_message()
    assert "no heartbeat for 60 seconds" in job.message
    assert DBTaskResult.objects.get(id=task.id).status == "FAILED"
    assert snapshot() == before
    assert "Nothing was changed" in admin_http.get(job.get_absolute_url()).content.decode()
    assert free_for_a_new_transfer(administrator, leaver_firm)


def test_ending_a_dead_job_fails_its_own_task_and_no_other(administrator, leaver_firm):
    dead = queued(administrator, leaver_firm)
    claim_task(dead, ago=120)
    alive = queued(administrator, leaver_firm, old_user=leaver_firm.marcus, record_count=2)
    claim_task(alive, ago=5)
    reaped_after = timezone.now()

    assert reaper.transfer_jobs_reap() == {dead.pk: Status.FAILED}

    dead_task = DBTaskResult.objects.get(id=dead.task_id)
    assert dead_task.status == "FAILED" and dead_task.finished_at >= reaped_after
    alive_task = DBTaskResult.objects.get(id=alive.task_id)
    assert (alive_task.status, alive_task.finished_at) == ("RUNNING", None)
    assert TransferJob.objects.get(pk=alive.pk).status == Status.QUEUED


def test_a_job_whose_task_ended_before_claiming_it_is_failed_after_the_timeout(
    administrator, leaver_firm, admin_http
):
    """The task failed between its claim and the job's (a database error, say):
    no worker will ever run the job, so the reaper ends it and frees the leaver."""
    job = queued(administrator, leaver_firm)
    task = claim_task(job, ago=5)
    task_ended_at = timezone.now()
    DBTaskResult.objects.filter(id=task.id).update(status="FAILED", finished_at=task_ended_at)
    assert reaper.transfer_jobs_reap() == {}

    limit = task.started_at + timedelta(seconds=TIMEOUT, microseconds=1)
    assert reaper.transfer_jobs_reap(now=limit) == {job.pk: Status.FAILED}

    job.refresh_from_db()
    assert job.message == reaper.TASK_ENDED_MESSAGE
    ended = DBTaskResult.objects.get(id=task.id)
    assert (ended.status, ended.finished_at) == ("FAILED", task_ended_at)
    page = admin_http.get(job.get_absolute_url()).content.decode()
    assert "<h1>Transfer failed</h1>" in page and "before the transfer began" in page
    assert free_for_a_new_transfer(administrator, leaver_firm)


def test_a_claimed_task_as_old_as_the_timeout_is_still_its_workers(administrator, leaver_firm):
    job = queued(administrator, leaver_firm)
    limit = claim_task(job, ago=600).started_at + timedelta(seconds=TIMEOUT)

    assert reaper.transfer_jobs_reap(now=limit) == {}
    assert reaper.transfer_jobs_reap(now=limit + timedelta(microseconds=1)) == {
        job.pk: Status.FAILED
    }


def test_a_task_claimed_moments_ago_is_left_to_its_worker(administrator, leaver_firm):
    job = queued(administrator, leaver_firm)
    claim_task(job, ago=5)
    assert reaper.transfer_jobs_reap() == {}
    job.refresh_from_db()
    assert job.status == Status.QUEUED


def test_a_job_given_up_for_dead_cannot_commit_afterwards(administrator, leaver_firm):
    """A worker that was only slow finds its job ended and changes nothing."""
    job = running(administrator, leaver_firm, worker=f"{HOST}:1", claimed_ago=600)
    assert reaper.transfer_jobs_reap() == {job.pk: Status.FAILED}
    before = snapshot()
    with pytest.raises(TransferRefused) as refused:
        services.records_transfer_all(
            acting_user=administrator,
            old_user=leaver_firm.leaver,
            new_user=leaver_firm.dana,
            request_key=job.request_key,
        )
    assert refused.value.code == "job_ended"
    assert refused.value.message == (
        "This transfer was ended before it could run (failed); nothing was changed."
    )
    assert snapshot() == before and not Transfer.objects.exists()


def test_every_worker_reaps_in_a_thread_of_its_own(administrator, leaver_firm):
    job = queued(administrator, leaver_firm)
    background_reaper = reaper.Reaper(interval=0.05)
    background_reaper.start()
    try:
        claim_task(job, ago=120)  # dies after the reaper's first round
        for _ in range(100):
            try:
                if TransferJob.objects.get(pk=job.pk).status == Status.FAILED:
                    break
            except OperationalError:  # SQLite's shared in-memory cache while the reaper writes
                pass
            time.sleep(0.05)
    finally:
        background_reaper.stop()
    assert TransferJob.objects.get(pk=job.pk).status == Status.FAILED


def test_the_reaper_thread_ends_with_its_worker_and_outlives_a_database_error(monkeypatch, caplog):
    """A daemon, named in thread dumps and logs; a round that fails is logged and
    the thread goes on; stop() returns once the thread has ended."""
    rounds = []

    def unreachable_database(**kwargs):
        rounds.append(kwargs)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(reaper, "transfer_jobs_reap", unreachable_database)
    reaper.Reaper(interval=0.01).stop()  # never started: nothing to stop
    background_reaper = reaper.Reaper(interval=0.01)
    background_reaper.start()
    thread = background_reaper._thread
    assert (thread.name, thread.daemon) == ("transfer-job-reaper", True)
    for _ in range(500):
        if len(rounds) >= 3:
            break
        time.sleep(0.01)
    background_reaper.stop()

    assert len(rounds) >= 3 and not thread.is_alive()
    logged = [record.getMessage() for record in caplog.records]
    assert "Could not look for transfer jobs whose worker is gone" in logged
    assert "could not connect to server" in caplog.text


def test_a_job_ended_while_the_reaper_looked_is_left_as_it_ended(administrator, leaver_firm):
    job = running(administrator, leaver_firm, worker="worker-2.example:4242", claimed_ago=600)
    [dead] = reaper.dead_transfer_jobs()
    job_finish(job, Status.FAILED, message="The transfer stopped with an error (Boom).")

    assert reaper.transfer_job_reap(job=dead) is None
    job.refresh_from_db()
    assert job.message == "The transfer stopped with an error (Boom)."
    TransferJob.objects.filter(pk=job.pk).delete()
    assert reaper.transfer_job_reap(job=dead) is None


# --- cancel ---------------------------------------------------------------------


def test_an_administrator_cancels_a_queued_job_from_its_page(
    administrator, leaver_firm, admin_http
):
    job = queued(administrator, leaver_firm)
    page = admin_http.get(job.get_absolute_url()).content.decode()
    cancel_url = reverse("transfers:transfer_job_cancel", args=[job.pk])
    assert f'action="{cancel_url}"' in page
    before = snapshot()

    response = admin_http.post(cancel_url, follow=True)

    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert job.cancelled_by == administrator and job.cancelled_by_name == "Olivia Grant"
    assert job.finished_at is not None
    assert not DBTaskResult.objects.filter(id=job.task_id).exists()  # nothing left to run
    html = response.content.decode()
    assert "<h1>Transfer cancelled</h1>" in html and "Cancelled by Olivia Grant on" in html
    run_worker()
    assert snapshot() == before and not Transfer.objects.exists()
    assert free_for_a_new_transfer(administrator, leaver_firm)


def test_cancelling_one_job_leaves_every_other_job_and_its_task(administrator, leaver_firm):
    sams = queued(administrator, leaver_firm)
    marcuss = queued(administrator, leaver_firm, old_user=leaver_firm.marcus, record_count=2)

    submit.transfer_job_cancel(acting_user=administrator, job=sams)

    marcuss.refresh_from_db()
    assert (marcuss.status, marcuss.finished_at) == (Status.QUEUED, None)
    assert marcuss.cancelled_by is None
    assert DBTaskResult.objects.get(id=marcuss.task_id).status == "READY"
    assert not DBTaskResult.objects.filter(id=sams.task_id).exists()


def test_a_job_whose_task_a_worker_just_claimed_is_cancelled_and_runs_nothing(
    administrator, leaver_firm
):
    """The worker holds the task row: it is left for the worker to end, which finds
    the job cancelled and changes nothing."""
    job = queued(administrator, leaver_firm)
    claim_task(job, ago=1)
    before = snapshot()

    assert submit.transfer_job_cancel(acting_user=administrator, job=job).status == (
        Status.CANCELLED
    )
    assert DBTaskResult.objects.get(id=job.task_id).status == "RUNNING"
    assert worker.transfer_job_run.call(job.pk) is None
    assert snapshot() == before and not Transfer.objects.exists()
    assert TransferJob.objects.get(pk=job.pk).status == Status.CANCELLED


def test_only_a_user_allowed_to_transfer_can_cancel(administrator, leaver_firm, attorney):
    job = queued(administrator, leaver_firm)
    with pytest.raises(TransferRefused) as refused:
        submit.transfer_job_cancel(acting_user=attorney, job=job)
    assert refused.value.code == "permission_denied"
    assert TransferJob.objects.get(pk=job.pk).status == Status.QUEUED
    assert DBTaskResult.objects.get(id=job.task_id).status == "READY"


def test_transfer_history_offers_cancel_for_waiting_jobs_only(
    administrator, leaver_firm, admin_http
):
    job = queued(administrator, leaver_firm)
    cancel_url = reverse("transfers:transfer_job_cancel", args=[job.pk])
    history = admin_http.get(reverse("transfers:transfer_list")).content.decode()
    assert f'action="{cancel_url}"' in history
    TransferJob.objects.filter(pk=job.pk).update(status=Status.RUNNING, heartbeat_at=timezone.now())
    history = admin_http.get(reverse("transfers:transfer_list")).content.decode()
    assert f'action="{cancel_url}"' not in history

    response = admin_http.post(cancel_url, follow=True)
    assert "This transfer can no longer be cancelled: it is running." in (response.content.decode())
    assert TransferJob.objects.get(pk=job.pk).status == Status.RUNNING


def test_cancel_needs_the_permission_to_transfer(administrator, leaver_firm, attorney):
    job = queued(administrator, leaver_firm)
    other = HttpClient()
    other.force_login(attorney)
    assert other.post(reverse("transfers:transfer_job_cancel", args=[job.pk])).status_code == 403
    assert other.get(reverse("transfers:transfer_job_cancel", args=[job.pk])).status_code in (
        403,
        405,
    )
    assert TransferJob.objects.get(pk=job.pk).status == Status.QUEUED


# --- one active transfer per old user, whatever the door ------------------------------


def test_a_queued_transfer_of_one_user_holds_back_no_other_user(administrator, leaver_firm):
    """The rule is one active transfer per old user: Marcus's records move while
    Sam's transfer waits in the queue."""
    job = queued(administrator, leaver_firm)
    transfer = services.records_transfer_all(
        acting_user=administrator, old_user=leaver_firm.marcus, new_user=leaver_firm.dana
    ).transfer
    assert transfer.from_user == leaver_firm.marcus and transfer.record_count == 2
    job.refresh_from_db()
    assert job.status == Status.QUEUED


def test_a_job_ends_alone_once_and_says_when(administrator, leaver_firm):
    """Ending one job stamps its time and leaves every other job as it was; a job
    already ended is never rewritten (a cancel, then a slow worker's "done")."""
    sams = queued(administrator, leaver_firm)
    marcuss = queued(administrator, leaver_firm, old_user=leaver_firm.marcus, record_count=2)
    assert job_finish(sams, Status.CANCELLED) == 1
    sams.refresh_from_db()
    marcuss.refresh_from_db()
    assert sams.status == Status.CANCELLED and sams.finished_at is not None
    assert marcuss.status == Status.QUEUED and marcuss.finished_at is None
    assert job_finish(sams, Status.DONE) == 0
    sams.refresh_from_db()
    assert sams.status == Status.CANCELLED


def test_the_command_line_meets_the_one_active_transfer_rule(administrator, leaver_firm):
    queued(administrator, leaver_firm)
    before = snapshot()
    with pytest.raises(CommandError) as refused:
        call_command(
            "transfer_user",
            leaver_firm.leaver.username,
            "--to",
            leaver_firm.marcus.username,
            "--by",
            administrator.username,
        )
    assert str(refused.value) == (
        "Refused (transfer_in_progress): A transfer of Sam Leaver's records is already queued "
        "or running. Wait for it to finish, then save again if anything is left."
    )
    assert snapshot() == before


# --- a real worker process, killed -------------------------------------------------

WORKER_SCRIPT = """
import os, sys, time, pathlib
os.environ["DJANGO_SETTINGS_MODULE"] = "casengine.test_settings"
import django
django.setup()
from django.core.management import call_command
from transfers.background import worker
from transfers.engine import faults
marker, where = pathlib.Path(sys.argv[1]), sys.argv[2]

def hold(step, **details):
    if step == where:
        marker.write_text(str(os.getpid()))
        time.sleep(600)

if where == "claimed":
    worker.fault_point = hold
else:
    faults.fault_point = hold
call_command("db_worker", "--no-startup-delay", "--no-reload", "--interval=0.1", verbosity=0)
"""


def start_worker(tmp_path: Path, where: str) -> subprocess.Popen:
    """A db_worker process on the test database that stops at fault point `where`."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TRANSFER_JOB_HEARTBEAT_INTERVAL": "0.2",
    }
    marker = tmp_path / "reached"
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, str(marker), where],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    for _ in range(600):
        if marker.exists():
            return process
        assert process.poll() is None, "the worker exited"
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"the worker never reached {where}")


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def later() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=TIMEOUT + 1)


@pytest.mark.postgres_only
def test_a_worker_killed_between_claiming_the_task_and_starting_the_job(
    administrator, leaver_firm, tmp_path, admin_http
):
    job = queued(administrator, leaver_firm)
    before = snapshot()
    process = start_worker(tmp_path, "claimed")
    try:
        assert DBTaskResult.objects.get(id=job.task_id).status == "RUNNING"
        assert TransferJob.objects.get(pk=job.pk).status == Status.QUEUED
        assert reaper.transfer_jobs_reap() == {}  # its worker is alive
    finally:
        kill(process)

    assert reaper.transfer_jobs_reap(now=later()) == {job.pk: Status.FAILED}
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert "Nothing was changed" in admin_http.get(job.get_absolute_url()).content.decode()
    assert snapshot() == before
    assert free_for_a_new_transfer(administrator, leaver_firm)


@pytest.mark.postgres_only
def test_a_worker_killed_mid_transfer_is_alive_until_then_and_failed_after(
    administrator, leaver_firm, tmp_path
):
    job = queued(administrator, leaver_firm)
    before = snapshot()
    process = start_worker(tmp_path, "move_shares")  # clients, matters and cases moved
    try:
        time.sleep(0.6)  # a few heartbeats on the progress connection
        beat = TransferProgress.objects.using(PROGRESS_DATABASE).get(job_id=job.pk).updated_at
        assert timezone.now() - beat < timedelta(seconds=2)
        # Its clock keeps running: an hour-long transfer stays alive.
        assert reaper.transfer_jobs_reap(now=beat + timedelta(seconds=TIMEOUT - 1)) == {}
        running_job = TransferJob.objects.get(pk=job.pk)
        assert state.transfer_job_state(job=running_job).phase == "shares"
    finally:
        kill(process)

    assert reaper.transfer_jobs_reap(now=later()) == {job.pk: Status.FAILED}
    assert snapshot() == before
    assert Case.objects.filter(owner=leaver_firm.dana).count() == 0
    assert not TransferProgress.objects.using(PROGRESS_DATABASE).filter(job_id=job.pk).exists()
    assert free_for_a_new_transfer(administrator, leaver_firm)
