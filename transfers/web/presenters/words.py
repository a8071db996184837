"""How the transfer screens put results into words: counts and holdings, the
messages after Save and Revert, and a refusal's link to the job in progress."""

from collections.abc import Callable

from django.contrib import messages
from django.http import QueryDict
from django.template.defaultfilters import pluralize
from django.utils.html import format_html
from django.utils.text import get_text_list

from clients.record_types import RecordCounts
from transfers.background.submit import Submission
from transfers.errors import TransferInProgress, TransferRefused
from transfers.models import Transfer, TransferJob
from transfers.receipts.selectors import revert_skipped_records
from users.models import User

NAMES_LISTED = 10


def counts_text(counts: RecordCounts, *, shares: bool = True) -> str:
    """ "2 clients, 1 matter and 0 cases"; shares are added when there are any."""
    return get_text_list(counts.phrases(shares=shares), "and")


def moved_text(counts: RecordCounts) -> str:
    """ "2 clients, 1 matter, 0 cases, 0 shares": every count, the shares too."""
    return ", ".join(
        [*counts.phrases(shares=False), f"{counts.shares} share{pluralize(counts.shares)}"]
    )


def transfer_summary(transfer: Transfer) -> str:
    """The success message after Save: counts, new users and deactivation."""
    recipients = list(transfer.recipients.all())
    to_text = get_text_list(
        [f"{r.to_user_name} ({counts_text(r.record_counts, shares=False)})" for r in recipients],
        "and",
    )
    moved = counts_text(transfer.record_counts)
    text = f"Transferred {moved} from {transfer.from_user_name} to {to_text}."
    if transfer.deactivated_from_user:
        text += f" {transfer.from_user_name} was deactivated."
    if transfer.revoked_share_count:
        text += f" {revoked_text(transfer)}."
    return text


def revoked_text(transfer: Transfer) -> str:
    """ "7 shares on other clients were revoked" (a revert: "… given back")."""
    count = transfer.revoked_share_count
    verb = "given back" if transfer.mode == Transfer.Mode.REVERT else "revoked"
    return (
        f"{count} share{pluralize(count)} on other clients {'was' if count == 1 else 'were'} {verb}"
    )


def submission_message(
    submitted: Submission, *, saved: str, summary: Callable[[Transfer], str], queued: str
) -> tuple[int, str]:
    """The message (level, text) after a Save or a Revert: the `summary` of
    what moved, that `queued` is queued, or that `saved` was saved before."""
    if submitted.replayed:
        what = "receipt" if submitted.transfer is not None else "progress"
        return messages.INFO, f"{saved} was already saved: here is its {what}."
    if submitted.transfer is not None:
        return messages.SUCCESS, summary(submitted.transfer)
    if submitted.job.status == TransferJob.Status.SCHEDULED:
        return messages.INFO, (
            f"{queued} is scheduled for {submitted.job.run_at_text}. It is checked again then; "
            "until then you can cancel it here or in Transfer History."
        )
    return messages.INFO, (
        f"{queued} is queued: this page follows it and shows its receipt when it is done."
    )


def save_message(submitted: Submission, old_user: User) -> tuple[int, str]:
    records = submitted.job.record_count if submitted.job else 0
    queued = f"The transfer of {records:,} records from {old_user.full_name}"
    return submission_message(submitted, saved="This form", summary=transfer_summary, queued=queued)


def revert_message(submitted: Submission, original: Transfer) -> tuple[int, str]:
    queued = f"The revert of transfer #{original.pk} ({original.record_count:,} records)"
    return submission_message(submitted, saved="This revert", summary=revert_summary, queued=queued)


def receipt_summary(receipt: Transfer) -> str:
    """The success message of a receipt a background job landed on."""
    if receipt.mode == Transfer.Mode.REVERT:
        return revert_summary(receipt)
    return transfer_summary(receipt)


def revert_summary(revert: Transfer) -> str:
    """The success message after Revert: what went back, to whom, and what
    was left alone because it changed since."""
    recipients = get_text_list([r.to_user_name for r in revert.recipients.all()], "and")
    text = f"Reverted transfer #{revert.reverted_transfer_id}: moved back " + counts_text(
        revert.record_counts
    )
    if recipients:
        text += f" to {recipients}"
    text += "."
    if revert.reactivated_user:
        text += f" {revert.from_user_name} was reactivated."
    if revert.revoked_share_count:
        text += f" {revoked_text(revert)}."
    skipped = list(revert_skipped_records(revert=revert)[: NAMES_LISTED + 1])
    if not skipped:
        return text + " Nothing was left alone."
    labels = [
        f"{row.get_record_type_display()} "
        f"{row.record_label or '(deleted)'}"
        f"{f' ({row.record_number})' if row.record_number else ''}"
        for row in skipped[:NAMES_LISTED]
    ]
    count = max(revert.skipped_count, len(skipped))
    if count > len(labels):
        labels.append(f"{count - len(labels)} more")
    return (
        text + f" Left alone because they changed since the transfer: "
        f"{get_text_list(labels, 'and')}."
    )


def with_job_link(refusal: TransferRefused) -> TransferRefused:
    """A refusal because another job holds the old user's records, with a
    link to that job's page; any other refusal as it is."""
    if not isinstance(refusal, TransferInProgress):
        return refusal
    job = refusal.job
    scheduled = job.status == TransferJob.Status.SCHEDULED
    message = format_html(
        '{} <a href="{}">{}</a>.',
        refusal.messages[0],
        job.get_absolute_url(),
        "See the scheduled transfer" if scheduled else "See the transfer in progress",
    )
    return TransferInProgress(job, message)


def page_query(query: QueryDict, page: str = "page") -> str:
    """The query string of a paginated page without its page number (`page`),
    for the links to the other pages."""
    query = query.copy()
    query.pop(page, None)
    return query.urlencode()
