"""Reads of background jobs for the pages: where a job is, and which job holds
a user's records. Nothing here writes: a job's state is written only by the
worker, the submitters and the reaper."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from clients.record_types import RecordCounts
from transfers.background.routers import PROGRESS_DATABASE
from transfers.engine.progress import PHASES
from transfers.models import Transfer, TransferJob, TransferProgress
from users.models import User

Status = TransferJob.Status


def active_transfer_job(*, user: User | int) -> TransferJob | None:
    """The scheduled, queued or running job of `user`'s records, if any."""
    user_id = getattr(user, "pk", user)
    return TransferJob.objects.filter(from_user_id=user_id, status__in=TransferJob.ACTIVE).first()


def scheduled_transfer_jobs():
    """The scheduled transfers, soonest first."""
    return TransferJob.objects.filter(status=Status.SCHEDULED).order_by("run_at", "pk")


def users_with_scheduled_transfer() -> set[int]:
    """Ids of the users whose records a scheduled transfer is to move (for
    User Registration's states, through users.hooks)."""
    return set(scheduled_transfer_jobs().values_list("from_user_id", flat=True))


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

    @property
    def is_active(self) -> bool:
        """Still to end: a committed receipt ends it whatever the job row says."""
        return self.receipt is None and self.job.is_active

    def elapsed_seconds(self, now: datetime | None = None) -> int:
        since = self.job.started_at or self.job.created_at
        until = self.job.finished_at or now or timezone.now()
        return max(0, int((until - since).total_seconds()))


def transfer_job_state(*, job: TransferJob) -> JobState:
    """Where `job` is. While the worker reports progress, that is read from
    the progress alias. A receipt carrying the job's request_key means done,
    whatever the job row says (a worker stopped between the commit of its
    transfer and its own last write; the reaper sets the row right)."""
    receipt = job.transfer
    progress = None
    if receipt is None and job.is_active:
        if job.status == Status.RUNNING:
            progress = (
                TransferProgress.objects.using(PROGRESS_DATABASE).filter(job_id=job.pk).first()
            )
        if progress is None:
            receipt = Transfer.objects.filter(request_key=job.request_key).first()
    if receipt is not None:
        return JobState(job, "done", receipt.record_counts, receipt)
    if progress is not None:
        return JobState(job, progress.phase, progress.record_counts, None)
    return JobState(job, "", RecordCounts(), None)
