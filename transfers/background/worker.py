"""The worker's side of a background transfer: the django-tasks task that
`manage.py db_worker` runs, one call of the transfer's service in one
transaction, with its progress (and heartbeat) on the side.

Only the worker, the submitters (transfers.background.submit) and the reaper
(transfers.background.reaper) write a job's state.
"""

import logging
import os
import socket

from django.db.models import Q
from django.utils import timezone

from transfers.background.notifications import scheduled_refusal_notify
from transfers.background.progress import StoredProgress
from transfers.engine import services
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferJob
from users.models import User

try:  # Django 6 has the tasks framework built in; django-tasks backports it.
    from django.tasks import task
except ImportError:
    from django_tasks import task

logger = logging.getLogger(__name__)
Status = TransferJob.Status

WORKER_STOPPED_MESSAGE = (
    "The worker running this transfer was told to stop before it finished, "
    "so its transaction was rolled back."
)


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


def fault_point(step: str, **details: object) -> None:
    """Reached by the worker at `step` ("claimed": the task row is RUNNING and
    the job not yet). It does nothing: tests replace it to stop a worker
    process there."""


def job_finish(job: TransferJob, status: str, **fields) -> int:
    """End an active job (a job already ended is left as it is)."""
    return TransferJob.objects.filter(pk=job.pk, status__in=TransferJob.ACTIVE).update(
        status=status, finished_at=timezone.now(), **fields
    )


def _worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@task()
def transfer_job_run(job_id: int) -> int | None:
    """Run a queued or scheduled job: one call of its service, in one
    transaction. A refusal (the data changed since it was saved) and any
    error leave everything as it was and are recorded on the job; an error
    also fails the task, so the worker logs it."""
    fault_point("claimed", job_id=job_id)
    now = timezone.now()
    claimed = TransferJob.objects.filter(
        Q(run_at__isnull=True) | Q(run_at__lte=now), pk=job_id, status__in=TransferJob.WAITING
    ).update(status=Status.RUNNING, started_at=now, heartbeat_at=now, worker=_worker_identity())
    if not claimed:  # cancelled, or ended by the reaper
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
        job_finish(job, Status.REFUSED, refusal_code=refusal.code, message=refusal.messages[0])
        _refused_after_commit(job)
        return None
    except Exception as error:
        job_finish(
            job,
            Status.FAILED,
            message=f"The transfer stopped with an error ({type(error).__name__}: {error}).",
        )
        raise
    except BaseException:  # the worker was told to stop at once
        job_finish(job, Status.FAILED, message=WORKER_STOPPED_MESSAGE)
        raise
    finally:
        progress.clear()
    job_finish(job, Status.DONE, transfer=transfer)
    return transfer.pk


def _refused_after_commit(job: TransferJob) -> None:
    """A scheduled transfer refused at its time: tell whoever scheduled it."""
    if job.run_at is None:
        return
    job.refresh_from_db()
    scheduled_refusal_notify(job=job)
