"""Ends the jobs whose worker is gone, so that no job waits forever and no
leaver stays held.

A worker shows it is alive by its heartbeat: the job's `heartbeat_at` when it
claims the job, then its progress row, rewritten at least every
TRANSFER_JOB_HEARTBEAT_INTERVAL seconds while the transfer runs (see
transfers.background.progress). Before the worker claims the job, the task
row it claimed says when (`started_at`). A job whose last sign of life is
older than TRANSFER_JOB_HEARTBEAT_TIMEOUT seconds is failed with
WORKER_GONE_MESSAGE: its transaction never committed (or, if its receipt
did, it is marked done), the leaver is free again, and its progress row is
deleted. A waiting job whose task ended without claiming it (an error before
the transfer began) is failed likewise, with TASK_ENDED_MESSAGE: no worker
would ever run it. Wherever the worker ran, whatever its process id: no host name or
PID is trusted.

Every worker reaps at start and then every TRANSFER_JOB_REAP_INTERVAL
seconds, in a thread of its own (transfers/management/commands/db_worker.py).
"""

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from transfers.background.worker import job_finish
from transfers.models import Transfer, TransferJob, TransferProgress

try:
    from django.tasks import TaskResultStatus
except ImportError:
    from django_tasks import TaskResultStatus

logger = logging.getLogger(__name__)
Status = TransferJob.Status
TASK_ENDED = {TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL}

WORKER_GONE_MESSAGE = (
    "The worker running this transfer stopped answering (no heartbeat for {seconds} seconds: "
    "its process or machine ended), so its transaction was rolled back."
)


TASK_ENDED_MESSAGE = (
    "The worker's task for this transfer ended with an error before the transfer began "
    "(see the worker's log), so nothing was changed."
)


def worker_gone_message() -> str:
    return WORKER_GONE_MESSAGE.format(seconds=settings.TRANSFER_JOB_HEARTBEAT_TIMEOUT)


def _last_heartbeats(jobs: list[TransferJob]) -> dict[int, datetime]:
    """When the worker of each running job last showed it was alive."""
    seen = {job.pk: job.heartbeat_at or job.started_at or job.created_at for job in jobs}
    rows = TransferProgress.objects.filter(job_id__in=list(seen))  # routed to its own database
    for job_id, updated_at in rows.values_list("job_id", "updated_at"):
        seen[job_id] = max(seen[job_id], updated_at)
    return seen


def _claimed_at(jobs: list[TransferJob]) -> dict[int, datetime]:
    """For waiting jobs whose task a worker has claimed (running, or ended
    without claiming the job): when it claimed it."""
    task_ids = {job.task_id: job.pk for job in jobs if job.task_id}
    claimed = DBTaskResult.objects.filter(id__in=list(task_ids), started_at__isnull=False)
    return {
        task_ids[str(task_id)]: started_at
        for task_id, started_at in claimed.values_list("id", "started_at")
    }


def dead_transfer_jobs(*, now: datetime | None = None) -> list[TransferJob]:
    """Running jobs, and waiting jobs a worker claimed, whose worker has shown
    no sign of life for longer than the timeout."""
    now = now or timezone.now()
    deadline = now - timedelta(seconds=settings.TRANSFER_JOB_HEARTBEAT_TIMEOUT)
    running = list(TransferJob.objects.filter(status=Status.RUNNING))
    waiting = list(TransferJob.objects.filter(status__in=TransferJob.WAITING))
    last_seen = {**_last_heartbeats(running), **_claimed_at(waiting)}
    return [
        job for job in running + waiting if job.pk in last_seen and last_seen[job.pk] < deadline
    ]


def transfer_job_reap(*, job: TransferJob) -> str | None:
    """End `job`, given up for dead: done if its receipt committed, failed
    otherwise. Returns the status it was given, or None if it had ended
    meanwhile. On PostgreSQL the row lock waits for a transfer that is in
    fact still running (it locks its own job row) to commit or roll back."""
    with transaction.atomic():
        locked = TransferJob.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or not locked.is_active:
            return None
        receipt = Transfer.objects.filter(request_key=locked.request_key).first()
        task = (
            DBTaskResult.objects.filter(id=locked.task_id).first()
            if locked.task_id  # pragma: no mutate (no task row has the empty id either way)
            else None
        )
        if receipt is not None:
            job_finish(locked, Status.DONE, transfer=receipt)
            status = Status.DONE
        else:
            task_ended = locked.is_waiting and task is not None and task.status in TASK_ENDED
            message = TASK_ENDED_MESSAGE if task_ended else worker_gone_message()
            job_finish(locked, Status.FAILED, message=message)
            status = Status.FAILED
        if task is not None:  # its worker is gone: the task ends with the job
            DBTaskResult.objects.filter(id=task.id, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED, finished_at=timezone.now()
            )
    TransferProgress.objects.filter(job_id=job.pk).delete()
    logger.warning("Transfer job %s given up for dead: %s", job.pk, status)
    return status


def transfer_jobs_reap(*, now: datetime | None = None) -> dict[int, str]:
    """End every job whose worker is gone; {job id: status given}."""
    ended = {}
    for job in dead_transfer_jobs(now=now):
        try:
            status = transfer_job_reap(job=job)
        except DatabaseError:  # e.g. SQLite busy with another transfer: next round
            logger.exception("Could not end transfer job %s", job.pk)
            continue
        if status is not None:
            ended[job.pk] = status
    return ended


class Reaper:
    """Reaps at once, then every `interval` seconds in a daemon thread, until stopped."""

    def __init__(self, *, interval: float | None = None) -> None:
        self.interval = interval or settings.TRANSFER_JOB_REAP_INTERVAL
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _reap(self) -> None:
        try:
            transfer_jobs_reap()
        except DatabaseError:
            logger.exception("Could not look for transfer jobs whose worker is gone")

    def start(self) -> None:
        self._reap()
        self._thread = threading.Thread(target=self._run, name="transfer-job-reaper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self._reap()
        finally:
            connections.close_all()  # this thread's own connections

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
