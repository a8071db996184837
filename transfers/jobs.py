"""Transfers that run in the background: queued by the settings screens when
they would move more than TRANSFER_BACKGROUND_THRESHOLD records, run by a
worker (`manage.py db_worker`, django-tasks' database backend) through the
same services, in one transaction, with their progress on the side.

A job is done exactly when its receipt commits: the worker passes the job's
request_key to the service, so the receipt carries it. At most one job per
old user is queued or running (a partial unique constraint on TransferJob).
"""

import logging
import os
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from clients.record_types import RecordCounts
from transfers.engine import services
from transfers.engine.holdings import user_holdings
from transfers.errors import TransferInProgress, TransferRefused
from transfers.models import Transfer, TransferJob, TransferProgress
from transfers.progress import PHASES, StoredProgress
from transfers.routers import PROGRESS_DATABASE
from users.models import User

try:  # Django 6 has the tasks framework built in; django-tasks backports it.
    from django.tasks import task
except ImportError:
    from django_tasks import task

logger = logging.getLogger(__name__)
Status = TransferJob.Status


def transfer_revert(*, old_user: User | int, **arguments):
    """services.transfer_revert as a job runs it: `old_user`, the user the records go back
    to, is whose records the job holds (at most one active job each)."""
    return services.transfer_revert(**arguments)


SERVICES = {
    Transfer.Mode.ALL: services.records_transfer_all,
    Transfer.Mode.PER_CLIENT: services.records_transfer_per_client,
    Transfer.Mode.REVERT: transfer_revert,
}
MODES = {service: mode for mode, service in SERVICES.items()}


def transfer_runs_in_background(record_count: int) -> bool:
    return record_count > settings.TRANSFER_BACKGROUND_THRESHOLD


def active_transfer_job(*, user: User | int) -> TransferJob | None:
    """The queued or running job of `user`'s records, if any."""
    user_id = getattr(user, "pk", user)
    return TransferJob.objects.filter(from_user_id=user_id, status__in=TransferJob.ACTIVE).first()


def _json_arguments(arguments: dict) -> dict:
    """The service's keyword arguments as JSON: user ids, client ids."""
    stored = {}
    for name, value in arguments.items():
        if isinstance(value, User):
            value = value.pk
        elif name == "assignments":
            value = {str(int(client)): getattr(user, "pk", user) for client, user in value.items()}
        elif name == "expected_client_ids" and value is not None:
            value = [int(pk) for pk in value]
        stored[name] = value
    return stored


def transfer_job_queue(
    *,
    service,
    acting_user: User,
    old_user: User,
    record_count: int,
    request_key: str | None,
    **arguments,
) -> TransferJob:
    """Queue `service(**arguments)` for a worker; call it after a
    validate_only pass of the same service has accepted it.

    A form saved twice (same request_key) gets its first job back. A second
    job for a user who already has one queued or running is refused
    (code transfer_in_progress, with `.job` the one in progress)."""
    if request_key and (existing := TransferJob.objects.filter(request_key=request_key).first()):
        return existing
    try:
        with transaction.atomic():
            job = TransferJob.objects.create(
                mode=MODES[service],
                actor=acting_user,
                actor_name=acting_user.full_name,
                from_user=old_user,
                from_user_name=old_user.full_name,
                arguments=_json_arguments(arguments),
                record_count=record_count,
                request_key=request_key or str(uuid.uuid4()),
            )
            result = transfer_job_run.enqueue(job.pk)
            job.task_id = str(result.id)
            job.save(update_fields=["task_id"])
    except IntegrityError:
        if request_key and (
            existing := TransferJob.objects.filter(request_key=request_key).first()
        ):
            return existing
        in_progress = active_transfer_job(user=old_user)
        if in_progress is None:
            raise
        raise transfer_in_progress(in_progress) from None
    return job


@dataclass(frozen=True)
class Submission:
    """What saving a transfer form did: `transfer` moved the records now, or
    `job` will; `replayed` when the form was saved before (same request_key)
    and this is what that Save did."""

    transfer: Transfer | None = None
    job: TransferJob | None = None
    replayed: bool = False

    def get_absolute_url(self) -> str:
        return (self.transfer or self.job).get_absolute_url()


def transfer_submit(
    *, service, old_user: User, record_count: int | None = None, **arguments
) -> Submission:
    """Save a transfer form: `service(old_user=old_user, **arguments)` now, or
    queued for a worker when it would move more than
    TRANSFER_BACKGROUND_THRESHOLD records (`record_count`, by default all
    that `old_user` holds).

    Either way every refusal is raised at once (TransferRefused): a queued
    transfer is first checked by a validate_only pass of the same service,
    under the same locks, without moving anything. A user whose records a
    job is already moving is refused with transfer_in_progress (`.job`)."""
    key = arguments.get("request_key")
    if key and (job := TransferJob.objects.filter(request_key=key).first()):
        return Submission(job=job, replayed=True)
    if (job := active_transfer_job(user=old_user)) is not None:
        raise transfer_in_progress(job)
    if record_count is None:
        record_count = user_holdings(user=old_user).records
    if not transfer_runs_in_background(record_count):
        result = service(old_user=old_user, **arguments)
        return Submission(transfer=result.transfer, replayed=result.replayed)
    verdict = service(old_user=old_user, **arguments, validate_only=True)
    if verdict.replayed:
        return Submission(transfer=verdict.saved, replayed=True)
    job = transfer_job_queue(
        service=service, old_user=old_user, record_count=record_count, **arguments
    )
    return Submission(job=job)


def revert_submit(*, acting_user: User, transfer: Transfer, request_key: str | None) -> Submission:
    """Revert `transfer` from its receipt, through transfer_submit: now, or queued
    when it moved more than the threshold, the job holding the user the records go
    back to."""
    return transfer_submit(
        service=transfer_revert,
        acting_user=acting_user,
        old_user=transfer.from_user,
        record_count=transfer.record_count,
        transfer=transfer.pk,
        request_key=request_key,
    )


def transfer_in_progress(job: TransferJob) -> TransferInProgress:
    return TransferInProgress(job)


def _finish(job: TransferJob, status: str, **fields) -> int:
    """End an active job (a job already ended is left as it is)."""
    return TransferJob.objects.filter(pk=job.pk, status__in=TransferJob.ACTIVE).update(
        status=status, finished_at=timezone.now(), **fields
    )


# --- is the worker still there? ----------------------------------------------

WORKER_LOCK_BASE = 0x7472_616E_0000_0000  # advisory lock keys of transfer jobs
WORKER_GONE_MESSAGE = (
    "The worker running this transfer stopped before it finished (its process ended), "
    "so its transaction was rolled back."
)


def _worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def _worker_lock(job_id: int):
    """On PostgreSQL, hold a session-level advisory lock for the job from
    before the worker claims it until after its last write: if the worker
    dies, its connection closes and the lock goes with it, wherever the
    worker ran."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [WORKER_LOCK_BASE + job_id])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [WORKER_LOCK_BASE + job_id])
        except DatabaseError:  # a broken connection has released it already
            logger.warning("Could not release the lock of transfer job %s", job_id)


def _worker_is_gone(job: TransferJob) -> bool:
    """Whether the worker of a running job has died: on PostgreSQL its lock
    is free; on SQLite (one machine) its process no longer exists."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [WORKER_LOCK_BASE + job.pk])
            return bool(cursor.fetchone()[0])
    host, _, pid = job.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@task()
def transfer_job_run(job_id: int) -> int | None:
    """Run a queued job: one call of its service, in one transaction. A
    refusal (the data changed since it was queued) and any error leave
    everything as it was and are recorded on the job; an error also fails
    the task, so the worker logs it."""
    with _worker_lock(job_id):
        return _run_job(job_id)


def _run_job(job_id: int) -> int | None:
    claimed = TransferJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), worker=_worker_identity()
    )
    if not claimed:
        return None
    job = TransferJob.objects.select_related("actor").get(pk=job_id)
    progress = StoredProgress(job.pk)
    progress.start()
    try:
        transfer = SERVICES[job.mode](
            acting_user=job.actor,
            old_user=job.from_user_id,
            request_key=job.request_key,
            progress=progress,
            **job.arguments,
        ).transfer
    except TransferRefused as refusal:
        _finish(job, Status.REFUSED, refusal_code=refusal.code, message=refusal.messages[0])
        return None
    except Exception as error:
        _finish(
            job,
            Status.FAILED,
            message=f"The transfer stopped with an error ({type(error).__name__}: {error}).",
        )
        raise
    except BaseException:  # the worker was told to stop at once
        _finish(job, Status.FAILED, message=WORKER_GONE_MESSAGE)
        raise
    finally:
        progress.clear()
    _finish(job, Status.DONE, transfer=transfer)
    return transfer.pk


# --- reads for the progress page ---------------------------------------------


@dataclass(frozen=True)
class JobState:
    job: TransferJob
    phase: str
    counts: RecordCounts
    receipt: Transfer | None

    @property
    def moved(self) -> int:
        return self.counts.records

    @property
    def phase_number(self) -> int:
        return PHASES.index(self.phase) + 1 if self.phase in PHASES else 0

    def elapsed_seconds(self, now: datetime | None = None) -> int:
        since = self.job.started_at or self.job.created_at
        until = self.job.finished_at or now or timezone.now()
        return max(0, int((until - since).total_seconds()))


def _receipt_of(job: TransferJob) -> Transfer | None:
    receipt = Transfer.objects.filter(request_key=job.request_key).first()
    if receipt is not None:
        _finish(job, Status.DONE, transfer=receipt)
        job.refresh_from_db()
    return receipt


def transfer_job_state(*, job: TransferJob) -> JobState:
    """Where `job` is. While the worker reports progress, that is read from
    the progress alias only. Otherwise a receipt carrying the job's
    request_key means done, whatever the job row says (a worker stopped
    between the commit of its transfer and its own last write)."""
    receipt = job.transfer
    progress = None
    if receipt is None and job.is_active:
        if job.status == Status.RUNNING:
            progress = (
                TransferProgress.objects.using(PROGRESS_DATABASE).filter(job_id=job.pk).first()
            )
        if progress is None:
            receipt = _receipt_of(job)
        if receipt is None and job.status == Status.RUNNING and _worker_is_gone(job):
            # Its transaction rolled back, unless it committed just before.
            receipt = _receipt_of(job)
            if receipt is None:
                _finish(job, Status.FAILED, message=WORKER_GONE_MESSAGE)
                job.refresh_from_db()
                progress = None
    if receipt is not None:
        return JobState(job, "done", receipt.record_counts, receipt)
    if progress is not None:
        return JobState(job, progress.phase, progress.record_counts, None)
    return JobState(job, "", RecordCounts(), None)
