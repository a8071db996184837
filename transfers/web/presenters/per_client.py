"""The rows of User Transfer and the users they offer, built here rather than
in the template: a book of 5,000 clients renders in a few milliseconds
instead of a second. Every value is escaped."""

from collections.abc import Callable, Iterable

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from clients.models import Client
from clients.record_types import RecordCounts, RecordType
from transfers.engine.distribution import Distribution
from transfers.engine.holdings import held_counts
from transfers.errors import TransferRefused
from transfers.web.fields import (
    USERS_DATALIST_ID,
    new_request_key,
    user_reference,
    workload_label,
    workload_summary,
)
from transfers.web.forms import (
    PER_CLIENT_MAX_CLIENTS,
    TransferPerClientForm,
    too_many_clients_message,
)
from transfers.web.presenters import row_filling
from users.models import User

REFUSED_LINKS = 10  # rows named and linked in a refusal; the rest are counted


def client_holdings_text(client: Client) -> str:
    """What the old user holds in a linked client: "The client, 2 matters, 5 cases"."""
    held = held_counts(client)
    parts = ["The client"] if held["client"] else []
    parts += [t.counted(count) for t, count in held.by_type() if t.under_client and count]
    text = ", ".join(parts)
    next_due = getattr(client, "next_due", None)
    if next_due is not None:
        text += f" · next due {next_due:%a %-d %b %Y}"
    return text


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


def client_url_template() -> str:
    """The URL of a client's page with "{pk}" for its id: one reverse() for
    thousands of rows."""
    pattern = reverse("clients:client_detail", args=[0])
    prefix, _, suffix = pattern.rpartition("/0/")
    return f"{prefix}/{{pk}}/{suffix}"


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
    client_url = client_url_template()
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


class CountChanges:
    """A chosen user's counts before and after Save, per record type, for the
    shared count cells (partials/_count_cells.html): each reads "3 → 5"."""

    def __init__(self, before: RecordCounts, after: RecordCounts) -> None:
        self.before, self.after = before, after

    def by_type(self) -> list[tuple[RecordType, str]]:
        return [
            (record_type, f"{self.before[record_type.name]} → {count}")
            for record_type, count in self.after.by_type()
        ]


def distribution_fill(
    distribution: Distribution, users: list[User]
) -> tuple[Callable[[Client], str | None], list[dict]]:
    """What Distribute writes into each row, and its table of each chosen
    user's totals after Save."""
    texts = {user.pk: user_reference(user) for user in users}
    names = {user.pk: user.full_name for user in users}
    totals = [
        {
            "name": names[load.user_id],
            "load": load,
            "changes": CountChanges(load.start_counts, load.counts),
        }
        for load in distribution.loads
    ]
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
        f'<option value="{escape(entry["reference"])}">{escape(workload_summary(user))}</option>'
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
