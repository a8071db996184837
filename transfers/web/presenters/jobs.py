"""What the progress page of a background transfer shows."""

from django.urls import reverse

from transfers.engine.progress import PHASE_LABELS, PHASES
from transfers.jobs import JobState
from transfers.models import Transfer, TransferJob


def job_noun(job: TransferJob) -> str:
    """What the progress page calls the job: "Revert" or "Transfer"."""
    return "Revert" if job.reverted_transfer_id else "Transfer"


def job_form_url(job: TransferJob) -> str:
    """The screen the job was saved from, to go back to."""
    if job.reverted_transfer_id:
        return reverse("transfers:transfer_detail", args=[job.reverted_transfer_id])
    name = "transfer_all" if job.mode == Transfer.Mode.ALL else "transfer_per_client"
    return reverse(f"transfers:{name}", args=[job.from_user_id])


def job_form_label(job: TransferJob) -> str:
    if job.reverted_transfer_id:
        return f"Back to transfer #{job.reverted_transfer_id}"
    return f"Back to {job.get_mode_display()} for {job.from_user_name}"


def job_state_data(state: JobState) -> dict:
    """What the progress page shows, for its template and its script."""
    job = state.job
    if job.status == TransferJob.Status.QUEUED:
        phase_text = "Waiting for a worker to start it."
    elif state.phase in PHASES:
        phase_text = f"{PHASE_LABELS[state.phase]} (step {state.phase_number} of {len(PHASES)})."
    elif job.status == TransferJob.Status.RUNNING:
        phase_text = "Starting: locking the users involved and checking the transfer."
    else:
        phase_text = job.get_status_display() + "."
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "phase": state.phase,
        "phase_text": phase_text,
        **state.counts.to_json(),
        "moved": state.moved,
        "total": max(job.record_count, state.moved),
        "elapsed_seconds": state.elapsed_seconds(),
        "active": job.is_active,
    }
