"""Saving a transfer that runs in the background: queued when it would move
more than TRANSFER_BACKGROUND_THRESHOLD records, or scheduled for a later
time, and run by a worker (transfers.background.worker) through the same
service, in one transaction. Cancelling a job that has not started.

A job is done exactly when its receipt commits: the worker passes the job's
request_key to the service, so the receipt carries it. At most one job per
old user is scheduled, queued or running (a partial unique constraint on
TransferJob, and the engine's own check under its locks).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from transfers.background.state import active_transfer_job
from transfers.background.worker import MODES, transfer_job_run, transfer_revert
from transfers.engine.holdings import user_holdings
from transfers.errors import FIELD_RUN_AT, FIELD_SUSPEND, TransferInProgress, TransferRefused
from transfers.models import Transfer, TransferJob
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.services import suspension_refusal, user_sign_in_suspend

try:
    from django.tasks import TaskResultStatus
except ImportError:
    from django_tasks import TaskResultStatus

Status = TransferJob.Status


def transfer_runs_in_background(record_count: int) -> bool:
    return record_count > settings.TRANSFER_BACKGROUND_THRESHOLD


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
    run_at: datetime | None = None,
    **arguments,
) -> TransferJob:
    """Queue `service(**arguments)` for a worker, to run at once or, with
    `run_at`, at that time; call it after a validate_only pass of the same
    service has accepted it.

    A form saved twice (same request_key) gets its first job back. A second
    job for a user who already has one scheduled, queued or running is
    refused (transfer_in_progress or transfer_scheduled, `.job` that one)."""
    if request_key and (existing := TransferJob.objects.filter(request_key=request_key).first()):
        return existing
    try:
        with transaction.atomic():
            job = TransferJob.objects.create(
                mode=MODES[service],
                status=Status.SCHEDULED if run_at else Status.QUEUED,
                run_at=run_at,
                actor=acting_user,
                actor_name=acting_user.full_name,
                from_user=old_user,
                from_user_name=old_user.full_name,
                arguments=_json_arguments(arguments),
                record_count=record_count,
                request_key=request_key or str(uuid.uuid4()),
            )
            task = transfer_job_run.using(run_after=run_at).enqueue(job.pk)  # None: at once
            job.task_id = str(task.id)
            job.save(update_fields=["task_id"])  # pragma: no mutate (every field: the same row)
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
    `job` will (queued, or scheduled); `replayed` when the form was saved
    before (same request_key) and this is what that Save did."""

    transfer: Transfer | None = None
    job: TransferJob | None = None
    replayed: bool = False

    def get_absolute_url(self) -> str:
        return (self.transfer or self.job).get_absolute_url()


def transfer_submit(
    *,
    service,
    acting_user: User,
    old_user: User,
    record_count: int | None = None,
    run_at: datetime | None = None,
    suspend_sign_in: bool = False,
    **arguments,
) -> Submission:
    """Save a transfer form: `service(old_user=old_user, **arguments)` now, or
    queued for a worker when it would move more than
    TRANSFER_BACKGROUND_THRESHOLD records (`record_count`, by default all
    that `old_user` holds), or scheduled for `run_at`.

    Either way every refusal is raised at once (TransferRefused): a queued or
    scheduled transfer is first checked by a validate_only pass of the same
    service, under the same locks, without moving anything; a scheduled one
    is checked again when it runs. A user whose records a job is already
    to move is refused with transfer_in_progress or transfer_scheduled (`.job`).

    With `suspend_sign_in`, `old_user`'s sign-in is suspended once the Save is
    accepted (users.services.user_sign_in_suspend, recorded on their account);
    a suspension that would be refused refuses the Save first, with nothing
    changed. A user already suspended, or deactivated by the transfer, is left
    as they are."""
    key = arguments.get("request_key")
    if key and (job := TransferJob.objects.filter(request_key=key).first()):
        return Submission(job=job, replayed=True)
    if (job := active_transfer_job(user=old_user)) is not None:
        raise transfer_in_progress(job)
    if run_at is not None and run_at <= timezone.now():
        raise TransferRefused("schedule_in_past", field=FIELD_RUN_AT)
    suspend = suspend_sign_in and old_user.sign_in_suspended_at is None
    if suspend and (refusal := suspension_refusal(user=old_user, acting_user=acting_user)):
        raise TransferRefused(refusal.code, refusal.messages[0], field=FIELD_SUSPEND)
    submitted = _submit(
        service=service,
        old_user=old_user,
        record_count=record_count,
        run_at=run_at,
        acting_user=acting_user,
        **arguments,
    )
    old_user.refresh_from_db()
    if suspend and old_user.is_active and old_user.sign_in_suspended_at is None:
        reason = (
            f"Leaving: transfer scheduled for {submitted.job.run_at_text}"
            if submitted.job is not None and submitted.job.run_at
            else "Leaving: records transferred"
        )
        user_sign_in_suspend(user=old_user, acting_user=acting_user, reason=reason)
    return submitted


def _submit(
    *, service, old_user: User, record_count: int | None, run_at: datetime | None, **arguments
) -> Submission:
    """transfer_submit once its own checks passed: now, queued or scheduled."""
    if record_count is None:
        record_count = user_holdings(user=old_user).records
    if run_at is None and not transfer_runs_in_background(record_count):
        result = service(old_user=old_user, **arguments)
        return Submission(transfer=result.transfer, replayed=result.replayed)
    verdict = service(old_user=old_user, **arguments, validate_only=True)
    if verdict.replayed:
        return Submission(transfer=verdict.saved, replayed=True)
    job = transfer_job_queue(
        service=service, old_user=old_user, record_count=record_count, run_at=run_at, **arguments
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
    """The refusal of a transfer of records that `job` is already to move."""
    return TransferInProgress(job)


def transfer_job_cancel(*, acting_user: User, job: TransferJob) -> TransferJob:
    """Cancel a scheduled or queued job before a worker starts it; recorded on
    the job (who, when). Refused once it has started or ended."""
    if not acting_user.is_active or not acting_user.has_perm(TRANSFER_RECORDS_PERMISSION):
        raise TransferRefused("permission_denied")
    with transaction.atomic():
        cancelled = TransferJob.objects.filter(pk=job.pk, status__in=TransferJob.WAITING).update(
            status=Status.CANCELLED,
            finished_at=timezone.now(),
            cancelled_by=acting_user,
            cancelled_by_name=acting_user.full_name,
        )
        if not cancelled:
            job.refresh_from_db()
            raise TransferRefused("job_not_cancellable", status=job.get_status_display().lower())
        if job.task_id:  # a worker has nothing left to run
            DBTaskResult.objects.filter(id=job.task_id, status=TaskResultStatus.READY).delete()
    job.refresh_from_db()
    return job
