"""How the transfer screens put things into words and markup: counts and
holdings text, the messages after Save and Revert, the rows of User Transfer
(with a refusal's message on the rows it concerns), the receipt as CSV and
the progress of a background transfer. Reads only; every value is escaped."""

import csv
from collections.abc import Callable, Iterable, Iterator

from django.contrib import messages
from django.http import QueryDict
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import get_text_list

from clients.models import Client
from clients.record_types import RECORD_TYPES
from transfers import jobs, row_filling, selectors
from transfers.errors import TransferRefused
from transfers.forms import (
    PER_CLIENT_MAX_CLIENTS,
    USERS_DATALIST_ID,
    TransferPerClientForm,
    new_request_key,
    too_many_clients_message,
    user_reference,
    workload_label,
)
from transfers.models import Transfer, TransferJob
from transfers.progress import PHASE_LABELS, PHASES
from users.models import User

NAMES_LISTED = 10
REFUSED_LINKS = 10  # rows named and linked in a refusal; the rest are counted


# --- words --------------------------------------------------------------------


def counts_text(counts, *, shares: bool = True) -> str:
    """ "2 clients, 1 matter and 0 cases" from a receipt, a recipient or anything
    with their count fields; shares are added when there are any."""
    parts = [_counted(getattr(counts, t.count_field), t.name) for t in RECORD_TYPES]
    share_count = getattr(counts, "share_count", 0) if shares else 0
    if share_count:
        parts.append(_counted(share_count, "share"))
    return get_text_list(parts, "and")


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{pluralize(count)}"


def client_holdings_text(client: Client) -> str:
    """What the old user holds in a linked client: "The client, 2 matters, 5 cases"."""
    parts = ["The client"] if client.owned_by_user else []
    if client.held_matter_count:
        parts.append(f"{client.held_matter_count} matter{pluralize(client.held_matter_count)}")
    if client.held_case_count:
        parts.append(f"{client.held_case_count} case{pluralize(client.held_case_count)}")
    return ", ".join(parts)


def transfer_summary(transfer: Transfer) -> str:
    """The success message after Save: counts, new users and deactivation."""
    recipients = list(transfer.recipients.all())
    to_text = get_text_list(
        [f"{r.to_user_name} ({counts_text(r, shares=False)})" for r in recipients],
        "and",
    )
    text = f"Transferred {counts_text(transfer)} from {transfer.from_user_name} to {to_text}."
    if transfer.deactivated_from_user:
        text += f" {transfer.from_user_name} was deactivated."
    return text


def submission_message(
    submitted: jobs.Submission, *, saved: str, summary: Callable[[Transfer], str], queued: str
) -> tuple[int, str]:
    """The message (level, text) after a Save or a Revert: the `summary` of
    what moved, that `queued` is queued, or that `saved` was saved before."""
    if submitted.replayed:
        what = "receipt" if submitted.transfer is not None else "progress"
        return messages.INFO, f"{saved} was already saved: here is its {what}."
    if submitted.transfer is not None:
        return messages.SUCCESS, summary(submitted.transfer)
    return messages.INFO, (
        f"{queued} is queued: this page follows it and shows its receipt when it is done."
    )


def save_message(submitted: jobs.Submission, old_user: User) -> tuple[int, str]:
    records = submitted.job.record_count if submitted.job else 0
    queued = f"The transfer of {records:,} records from {old_user.full_name}"
    return submission_message(submitted, saved="This form", summary=transfer_summary, queued=queued)


def revert_message(submitted: jobs.Submission, original: Transfer) -> tuple[int, str]:
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
    text = f"Reverted transfer #{revert.reverted_transfer_id}: moved back " + counts_text(revert)
    if recipients:
        text += f" to {recipients}"
    text += "."
    if revert.reactivated_user:
        text += f" {revert.from_user_name} was reactivated."
    skipped = list(selectors.revert_skipped_records(revert=revert)[: NAMES_LISTED + 1])
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
    """A transfer_in_progress refusal with a link to the job's progress page;
    any other refusal as it is."""
    if refusal.code != "transfer_in_progress":
        return refusal
    job = refusal.job
    linked = jobs.transfer_in_progress(job)
    linked.error_list[0].message = format_html(
        '{} <a href="{}">See the transfer in progress</a>.',
        linked.messages[0],
        job.get_absolute_url(),
    )
    return linked


def page_query(query: QueryDict) -> str:
    """The query string of a paginated page without its page number, for the
    links to the other pages."""
    query = query.copy()
    query.pop("page", None)
    return query.urlencode()


# --- the rows of User Transfer ----------------------------------------------------

ROW_PK_MARK = 987654321


def row_matches(client: Client, query: str) -> bool:
    """The filter of User Transfer's rows: client name or number contains it."""
    return not query or query in client.name.casefold() or query in client.number.casefold()


def client_names(client_ids: Iterable[int], clients: list[Client]) -> dict[int, str]:
    """Names of the clients a refusal concerns: from the page's rows, and
    one query for any the page does not show (e.g. a forged id)."""
    names = {client.pk: f"{client.name} ({client.number})" for client in clients}
    missing = [client_id for client_id in client_ids if client_id not in names]
    if missing:
        for pk, name, number in Client.objects.filter(pk__in=missing).values_list(
            "pk", "name", "number"
        ):
            names[pk] = f"{name} ({number})"
    return {client_id: names.get(client_id, f"client #{client_id}") for client_id in client_ids}


def refused_clients(
    refusal: TransferRefused | None, clients: list[Client]
) -> tuple[list[str], dict[int, str]]:
    """The clients a refusal concerns: their names, in the order of the rows
    (name, number) then any not shown, and the message on each of their rows."""
    if refusal is None or not refusal.client_ids:
        return [], {}
    names = client_names(refusal.client_ids, clients)
    position = {client.pk: i for i, client in enumerate(clients)}
    ordered = sorted(refusal.client_ids, key=lambda pk: (position.get(pk, len(position)), pk))
    row_message = (
        TransferPerClientForm.error_messages["unassigned_row"]
        if refusal.code == "client_unassigned"
        else refusal.messages[0]
    )
    return [names[pk] for pk in ordered], dict.fromkeys(refusal.client_ids, row_message)


def per_client_row_html(row: dict, client_url: str) -> SafeString:
    """One row of User Transfer, built here rather than in the template: a
    book of 5,000 clients renders in a few milliseconds instead of a second.
    Every value is escaped."""
    client = row["client"]
    pk = client.pk
    name = escape(client.name)
    field_id = row["field_id"]
    error = escape(row["error"])
    invalid = f' aria-invalid="true" aria-describedby="{field_id}_error"' if error else ""
    message = f'<p class="errorlist" id="{field_id}_error">{error}</p>' if error else ""
    attributes = (' class="row-invalid"' if error else "") + ("" if row["shown"] else " hidden")
    return mark_safe(  # noqa: S308 - built from escaped values only
        f"<tr{attributes} data-row>\n"
        f'<td><input type="checkbox" name="selected" value="{pk}" id="s{pk}"'
        f"{' checked' if row['selected'] else ''}>"
        f'<label class="visually-hidden" for="s{pk}">Select {name}</label></td>\n'
        f'<th scope="row"><a href="{client_url.format(pk=pk)}">{name}</a></th>\n'
        f"<td>{escape(client.number)}</td>\n"
        f"<td>{escape(row['holds'])}</td>\n"
        f'<td><label class="visually-hidden" for="{field_id}">New user for {name}</label>'
        f'<input name="client-{pk}" id="{field_id}" list="{USERS_DATALIST_ID}" '
        f'autocomplete="off" value="{escape(row["value"])}" data-assignment{invalid}>'
        f"{message}</td>\n</tr>\n"
    )


def per_client_rows(
    clients: list[Client],
    form: TransferPerClientForm,
    *,
    fill: Callable[[Client], str | None] | None,
    row_errors: dict[int, str],
) -> list[dict]:
    """The rows of User Transfer: each client, what the old user holds in it,
    its new user (filled by an action, else as posted) and its error."""
    posted = form.data if form.is_bound else {}
    client_url = reverse("clients:client_detail", args=[ROW_PK_MARK]).replace(
        str(ROW_PK_MARK), "{pk}"
    )
    query = posted.get("q", "").strip().casefold()
    selected = set(posted.getlist("selected")) if form.is_bound else set()
    rows = []
    for client in clients:
        value = fill(client) if fill else None
        row = {
            "client": client,
            "field_id": f"id_client-{client.pk}",
            "holds": client_holdings_text(client),
            "value": value if value is not None else form.posted_assignment(client.pk),
            "error": row_errors.get(client.pk, ""),
            "shown": row_matches(client, query),
            "selected": str(client.pk) in selected,
        }
        row["html"] = per_client_row_html(row, client_url)
        rows.append(row)
    return rows


def reference_text(user_id: int | None, posted: str, users: list[User]) -> str:
    """How a chosen user is written back into the rows: as the list of
    eligible users writes them, else as posted."""
    for user in users:
        if user.pk == user_id:
            return user_reference(user)
    return posted


def assignment_fill(
    form: TransferPerClientForm, users: list[User]
) -> Callable[[Client], str | None]:
    """What "Assign to every client" or "Assign to selected clients" writes
    into each row (None: the row keeps its value)."""
    data = form.cleaned_data
    if form.action == "assign_all":
        text = reference_text(data["assign_all_user"], data["assign_all_to"], users)
        return lambda client: text
    selected = set(data["selected"])
    text = reference_text(data["assign_selected_user"], data["assign_selected_to"], users)
    query = data["q"].strip().casefold()

    def fill(client: Client) -> str | None:
        chosen = client.pk in selected
        return text if chosen or (data["select_shown"] and row_matches(client, query)) else None

    return fill


def distribution_fill(
    distribution: selectors.Distribution, users: list[User]
) -> tuple[Callable[[Client], str | None], list[dict]]:
    """What Distribute writes into each row, and its table of each chosen
    user's totals after Save."""
    texts = {user.pk: user_reference(user) for user in users}
    names = {user.pk: user.full_name for user in users}
    totals = [{"name": names[load.user_id], "load": load} for load in distribution.loads]
    return lambda client: texts.get(distribution.assignments.get(client.pk)), totals


def per_client_form(
    form: TransferPerClientForm,
    clients: list[Client],
    users: list[User],
    *,
    fill: Callable[[Client], str | None] | None = None,
    request_key: str | None = None,
) -> dict:
    """The context of User Transfer's form: its rows, the eligible users, and
    the clients a refusal concerns."""
    refused, refused_rows = refused_clients(form.refusal, clients)
    unassigned = form.refusal is not None and form.refusal.code == "client_unassigned"
    if unassigned and row_filling.nothing_assigned(clients, form.posted_assignment):
        refused_rows = {}  # a Save of the untouched form: no wall of red rows
    rows = per_client_rows(clients, form, fill=fill, row_errors={**form.row_errors, **refused_rows})
    posted = form.data if form.is_bound else {}
    return {
        "form": form,
        "rows": rows,
        "shown_count": sum(1 for row in rows if row["shown"]),
        "new_users": eligible_user_entries(users, form),
        "users_datalist_id": USERS_DATALIST_ID,
        "shown_client_ids": ",".join(str(client.pk) for client in clients),
        "request_key": request_key or posted.get("request_key", "") or new_request_key(),
        "refused_clients": refused,
        "refused_links": (
            links := row_filling.refused_row_links(
                form.refusal.client_ids if form.refusal else [], clients, limit=REFUSED_LINKS
            )
        ),
        "refused_more": len(refused) - len(links),
        "refusal": form.refusal,
        "distribute_mode": posted.get("distribute_mode", ""),
        "too_many_message": too_many_clients_message(form.old_username),
        "max_clients": PER_CLIENT_MAX_CLIENTS,
    }


def eligible_user_html(entry: dict) -> tuple[SafeString, SafeString]:
    """A user's <option> in the shared list and checkbox under "Distribute
    among", built here for the same reason as the rows (1,400 users)."""
    user = entry["user"]
    pk = user.pk
    option = (
        f'<option value="{escape(entry["reference"])}">'
        f"{user.client_count} client{pluralize(user.client_count)}, "
        f"{user.case_count} case{pluralize(user.case_count)}</option>"
    )
    checkbox = (
        f"<li{'' if entry['shown'] else ' hidden'}>"
        f'<input type="checkbox" name="distribute_to" value="{pk}" id="id_distribute_to_{pk}"'
        f"{' checked' if entry['checked'] else ''}> "
        f'<label for="id_distribute_to_{pk}">{escape(entry["workload"])}</label></li>\n'
    )
    return mark_safe(option), mark_safe(checkbox)  # noqa: S308 - escaped values only


def eligible_user_entries(users: list[User], form: TransferPerClientForm) -> list[dict]:
    """The users who may receive the clients, for the shared list and the
    checkboxes under "Distribute among" (filtered and ticked as posted)."""
    posted = form.data if form.is_bound else {}
    user_query = posted.get("user_q", "").strip().casefold()
    ticked = set(posted.getlist("distribute_to")) if form.is_bound else set()
    entries = []
    for user in users:
        entry = {
            "user": user,
            "reference": user_reference(user),
            "workload": workload_label(user),
            "checked": str(user.pk) in ticked,
            "shown": not user_query or user_query in user.full_name.casefold(),
        }
        entry["option_html"], entry["checkbox_html"] = eligible_user_html(entry)
        entries.append(entry)
    return entries


# --- the receipt as CSV -----------------------------------------------------------

CSV_HEADER = [
    "transfer",
    "record_type",
    "record_id",
    "record_number",
    "record_name",
    "permission",
    "from_user",
    "to_user",
    "share_merged",
]
# Excel on Windows reads a CSV without a byte-order mark in the local code page
# and shows "—" and accented names as mojibake; with it, as UTF-8.
CSV_BYTE_ORDER_MARK = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value):
        return value


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas.
    return "'" + text if text.startswith(FORMULA_START) else text


def receipt_csv_lines(transfer: Transfer) -> Iterator[str]:
    """Every row of a receipt as CSV lines, read in chunks: memory stays flat
    whatever the size. A deleted user is named as the receipt names them."""
    names = dict(transfer.recipients.values_list("to_user_id", "to_user_name"))
    if transfer.from_user_id is not None:
        names[transfer.from_user_id] = transfer.from_user_name
    return _csv_lines(transfer, names)


def _csv_lines(transfer: Transfer, names: dict[int, str]) -> Iterator[str]:
    def user_name(user, user_id) -> str:
        return user.full_name if user is not None else names.get(user_id, "")

    writer = csv.writer(Echo())
    yield CSV_BYTE_ORDER_MARK + writer.writerow(CSV_HEADER)
    rows = selectors.transfer_records(transfer=transfer)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                transfer.pk,
                row.record_type,
                row.record_id,
                csv_cell(row.record_number),
                csv_cell(row.record_label),
                row.permission.codename if row.permission_id else "",
                csv_cell(user_name(row.from_user, row.from_user_id)),
                csv_cell(user_name(row.to_user, row.to_user_id)),
                "yes" if row.share_merged else "",
            ]
        )


# --- background transfers -----------------------------------------------------------


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


def job_state_data(state: jobs.JobState) -> dict:
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
        "client_count": state.client_count,
        "matter_count": state.matter_count,
        "case_count": state.case_count,
        "share_count": state.share_count,
        "moved": state.moved,
        "total": max(job.record_count, state.moved),
        "elapsed_seconds": state.elapsed_seconds(),
        "active": job.is_active,
    }
