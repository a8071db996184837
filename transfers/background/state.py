"""Reads of background jobs for the pages: where a job is, and which job holds
a user's records. Nothing here writes: a job's state is written only by the
worker, the submitters and the reaper."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from transfers.background.progress import PROGRESS_PHASES
from transfers.background.routers import PROGRESS_DATABASE
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
    client_count: int
    matter_count: int
    case_count: int
    share_count: int
    receipt: Transfer | None

    @property
    def moved(self) -> int:
        return self.client_count + self.matter_count + self.case_count

    @property
    def phase_number(self) -> int:
        return PROGRESS_PHASES.index(self.phase) + 1 if self.phase in PROGRESS_PHASES else 0

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
        counts = (receipt.client_count, receipt.matter_count, receipt.case_count)
        shares = receipt.share_count
        phase = "done"
    elif progress is not None:
        counts = (progress.client_count, progress.matter_count, progress.case_count)
        shares = progress.share_count
        phase = progress.phase
    else:
        counts, shares, phase = (0, 0, 0), 0, ""
    return JobState(job, phase, *counts, shares, receipt)
