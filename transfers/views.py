"""Transfer screens: User Transfer All, User Transfer (per client), the receipt
with its CSV and Revert, and Transfer History.

The views are thin: forms check the input's shape, transfers.services moves
the records (one transaction per Save) and every refusal it raises
(TransferRefused) is put back on the form, next to its field, with nothing
changed."""

import csv
from collections.abc import Callable, Iterator
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import get_text_list
from django.views import View
from django.views.generic import ListView

from clients.models import Client
from clients.record_types import RECORD_TYPES
from transfers import jobs, selectors, services
from transfers.errors import TransferRefused
from transfers.forms import (
    PER_CLIENT_MAX_CLIENTS,
    USERS_DATALIST_ID,
    TransferAllForm,
    TransferPerClientForm,
    new_request_key,
    too_many_clients_message,
    user_choices,
    user_reference,
    workload_label,
)
from transfers.models import Transfer, TransferJob, TransferRecipient, TransferredRecord
from transfers.progress import PHASE_LABELS, PHASES
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.selectors import eligible_owners, with_workload
from users.views import SettingsPermissionMixin

VIEW_TRANSFER_PERMISSION = "transfers.view_transfer"
RecordType = TransferredRecord.RecordType

RECORD_URL_NAMES = {
    name: record_type.url_name
    for record_type in RECORD_TYPES
    for name in (record_type.name, record_type.share_name)
}
NAMES_LISTED = 10


def counts_text(clients: int, matters: int, cases: int, shares: int = 0) -> str:
    parts = [
        f"{clients} client{pluralize(clients)}",
        f"{matters} matter{pluralize(matters)}",
        f"{cases} case{pluralize(cases)}",
    ]
    if shares:
        parts.append(f"{shares} share{pluralize(shares)}")
    return get_text_list(parts, "and")


def client_holdings_text(client: Client) -> str:
    """What the old user holds in a linked client: "The client, 2 matters, 5 cases"."""
    parts = ["The client"] if client.owned_by_user else []
    if client.held_matter_count:
        parts.append(f"{client.held_matter_count} matter{pluralize(client.held_matter_count)}")
    if client.held_case_count:
        parts.append(f"{client.held_case_count} case{pluralize(client.held_case_count)}")
    return ", ".join(parts)


def row_matches(client: Client, query: str) -> bool:
    """The filter of User Transfer's rows: client name or number contains it."""
    return not query or query in client.name.casefold() or query in client.number.casefold()


ROW_PK_MARK = 987654321


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


def transfer_summary(transfer: Transfer) -> str:
    """The success message after Save: counts, new users and deactivation."""
    recipients = list(transfer.recipients.all())
    to_text = get_text_list(
        [
            f"{r.to_user_name} ({counts_text(r.client_count, r.matter_count, r.case_count)})"
            for r in recipients
        ],
        "and",
    )
    text = (
        f"Transferred {counts_text(transfer.client_count, transfer.matter_count, transfer.case_count, transfer.share_count)} "  # noqa: E501
        f"from {transfer.from_user_name} to {to_text}."
    )
    if transfer.deactivated_from_user:
        text += f" {transfer.from_user_name} was deactivated."
    return text


def submit_transfer(request, form, call) -> Transfer | None:
    """Run a service call for a valid form: a refusal goes on the form and
    returns None; success (or a resubmission of a saved form) adds a message."""
    key = form.cleaned_data.get("request_key")
    already_saved = bool(key) and Transfer.objects.filter(request_key=key).exists()
    try:
        transfer = call()
    except TransferRefused as refusal:
        refuse_on_form(form, refusal)
        return None
    if already_saved:
        messages.info(request, "This form was already saved: here is its receipt.")
    else:
        messages.success(request, transfer_summary(transfer))
    return transfer


def refuse_on_form(form, refusal: TransferRefused) -> None:
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, refusal)
    form.refusal = refusal


def save_transfer(request, form, call: partial) -> Transfer | TransferJob | None:
    """Save a valid transfer form: run `call`, a service with its keyword
    arguments, now, or queue it when it would move more than
    TRANSFER_BACKGROUND_THRESHOLD records.

    Either way every refusal goes on the form at once (None is returned): a
    queued transfer is first checked by a validate_only pass of the same
    service, under the same locks, without moving anything. Returns the
    receipt or the job, both of which have a page to redirect to."""
    service, arguments = call.func, call.keywords
    old_user = arguments["old_user"]
    key = arguments.get("request_key")
    if key and (job := TransferJob.objects.filter(request_key=key).first()):
        messages.info(request, "This form was already saved: here is its transfer.")
        return job
    if (job := jobs.active_transfer_job(user=old_user)) is not None:
        refuse_on_form(form, in_progress_refusal(job))
        return None
    holdings = selectors.user_holdings(user=old_user)
    already_saved = bool(key) and Transfer.objects.filter(request_key=key).exists()
    if already_saved or not jobs.transfer_runs_in_background(holdings.records):
        return submit_transfer(request, form, call)
    try:
        service(**arguments, validate_only=True)
        job = jobs.transfer_job_queue(service=service, record_count=holdings.records, **arguments)
    except TransferRefused as refusal:
        if refusal.code == "transfer_in_progress":
            refusal = in_progress_refusal(refusal.job)
        refuse_on_form(form, refusal)
        return None
    messages.info(
        request,
        f"The transfer of {holdings.records:,} records from {old_user.full_name} is queued: "
        "this page follows it and shows its receipt when it is done.",
    )
    return job


def in_progress_refusal(job: TransferJob) -> TransferRefused:
    """The refusal of a second Save while `job` is queued or running, with a
    link to the job's progress page."""
    refusal = jobs.transfer_in_progress(job)
    refusal.error_list[0].message = format_html(
        '{} <a href="{}">See the transfer in progress</a>.',
        refusal.messages[0],
        job.get_absolute_url(),
    )
    return refusal


class OldUserMixin(SettingsPermissionMixin):
    extra_permissions = (TRANSFER_RECORDS_PERMISSION,)

    def load_objects(self, **kwargs):
        self.old_user = get_object_or_404(User, pk=kwargs["user_pk"])

    def new_users(self) -> list[User]:
        """Users who may receive the records (one query, with their workload)."""
        if not hasattr(self, "_new_users"):
            self._new_users = list(
                with_workload(eligible_owners().exclude(pk=self.old_user.pk)).order_by(
                    "first_name", "last_name", "username", "pk"
                )
            )
        return self._new_users

    def new_user_choices(self):
        return user_choices(self.new_users())


class TransferAllView(OldUserMixin, View):
    """User Transfer All: everything the old user owns, and their shares, to one
    new user."""

    template_name = "transfers/transfer_all.html"

    def get(self, request, user_pk):
        form = TransferAllForm(
            initial={"request_key": new_request_key()}, new_user_choices=self.new_user_choices()
        )
        return self.render(form)

    def post(self, request, user_pk):
        form = TransferAllForm(request.POST, new_user_choices=self.new_user_choices())
        if form.is_valid():
            data = form.cleaned_data
            transfer = save_transfer(
                request,
                form,
                partial(
                    services.records_transfer_all,
                    acting_user=request.user,
                    old_user=self.old_user,
                    new_user=data["new_user"],
                    deactivate_old_user=data["deactivate_old_user"],
                    request_key=data["request_key"],
                ),
            )
            if transfer is not None:
                return HttpResponseRedirect(transfer.get_absolute_url())
        return self.render(form)

    def render(self, form):
        return render(
            self.request,
            self.template_name,
            {
                "old_user": self.old_user,
                "holdings": selectors.user_holdings(user=self.old_user),
                "form": form,
            },
        )


class TransferPerClientView(OldUserMixin, View):
    """User Transfer: a new user for each client linked to the old user.

    Besides Save, the form's buttons fill or show the form and transfer
    nothing: Filter, "Assign to every client", "Assign selected to",
    Distribute and Preview. With JavaScript in the page the first three work
    in the browser and the last two fetch the same answer without reloading."""

    template_name = "transfers/transfer_per_client.html"
    form_actions = ("filter", "assign_all", "assign_selected", "distribute", "preview")

    def get(self, request, user_pk):
        form = TransferPerClientForm(
            initial={"request_key": new_request_key()}, old_username=self.old_user.username
        )
        return self.render(form, request_key=form.initial["request_key"])

    def post(self, request, user_pk):
        form = TransferPerClientForm(request.POST, old_username=self.old_user.username)
        if not form.is_valid():
            return self.render(form)
        data = form.cleaned_data
        action = request.POST.get("action", "save")
        if action in self.form_actions:
            return getattr(self, f"{action}_action")(form)
        transfer = save_transfer(
            request,
            form,
            partial(
                services.records_transfer_per_client,
                acting_user=request.user,
                old_user=self.old_user,
                assignments=data["assignments"],
                deactivate_old_user=data["deactivate_old_user"],
                expected_client_ids=data["client_ids"],
                request_key=data["request_key"],
            ),
        )
        if transfer is not None:
            return HttpResponseRedirect(transfer.get_absolute_url())
        return self.render(form)

    # --- actions that fill or show the form -----------------------------------

    def filter_action(self, form):
        return self.render(form)

    def assign_all_action(self, form):
        user_id = form.cleaned_data["assign_all_user"]
        if user_id is None:
            form.required_error("assign_all_to", "assign_all_required")
            return self.render(form)
        text = self.reference_text(user_id, form.cleaned_data["assign_all_to"])
        return self.render(form, fill=lambda client: text)

    def assign_selected_action(self, form):
        data = form.cleaned_data
        if data["assign_selected_user"] is None:
            form.required_error("assign_selected_to", "assign_selected_required")
            return self.render(form)
        selected = set(data["selected"])
        text = self.reference_text(data["assign_selected_user"], data["assign_selected_to"])
        shown_only = data["select_shown"]
        query = data["q"].strip().casefold()

        def fill(client):
            if client.pk in selected or (shown_only and row_matches(client, query)):
                return text
            return None

        if not selected and not shown_only:
            form.required_error("assign_selected_to", "nothing_selected")
            return self.render(form)
        return self.render(form, fill=fill)

    def distribute_action(self, form):
        data = form.cleaned_data
        eligible = {user.pk: user for user in self.new_users()}
        chosen = data["distribute_to"]
        if not chosen:
            form.required_error(None, "distribute_to_required")
            return self.render(form)
        not_eligible = [user_id for user_id in chosen if user_id not in eligible]
        if not_eligible:
            names = User.objects.filter(pk__in=not_eligible).order_by(
                "first_name", "last_name", "pk"
            )
            text = get_text_list([user.full_name for user in names] or ["an unknown user"], "and")
            form.add_error(
                None,
                ValidationError(
                    TransferPerClientForm.error_messages["distribute_to_invalid"].format(
                        names=text
                    ),
                    code="distribute_to_invalid",
                ),
            )
            return self.render(form)
        # In the order of the list on the page, whatever the order posted.
        chosen_users = [user for user in self.new_users() if user.pk in set(chosen)]
        distribution = selectors.client_distribution(
            old_user=self.old_user, to_users=chosen_users, mode=data["distribute_mode"]
        )
        texts = {user.pk: user_reference(user) for user in chosen_users}
        return self.render(
            form,
            fill=lambda client: texts.get(distribution.assignments.get(client.pk)),
            distribution=[
                {"name": eligible[load.user_id].full_name, "load": load}
                for load in distribution.loads
            ],
        )

    def preview_action(self, form):
        """What Save would move to each new user, from the engine's own dry run."""
        data = form.cleaned_data
        try:
            transfer = services.records_transfer_per_client(
                acting_user=self.request.user,
                old_user=self.old_user,
                assignments=data["assignments"],
                deactivate_old_user=data["deactivate_old_user"],
                expected_client_ids=data["client_ids"],
                dry_run=True,
            )
        except TransferRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal)
            form.refusal = refusal
            return self.render(form)
        return self.render(form, preview=transfer)

    def reference_text(self, user_id: int, posted: str) -> str:
        """How a chosen user is written back into the rows."""
        for user in self.new_users():
            if user.pk == user_id:
                return user_reference(user)
        return posted

    # --- the page ---------------------------------------------------------------

    def render(
        self,
        form,
        *,
        fill: Callable[[Client], str | None] | None = None,
        request_key: str | None = None,
        distribution: list | None = None,
        preview: Transfer | None = None,
    ):
        clients = list(selectors.linked_clients(user=self.old_user)[: PER_CLIENT_MAX_CLIENTS + 1])
        too_many = len(clients) > PER_CLIENT_MAX_CLIENTS
        if too_many:
            clients = []
        current_ids = [client.pk for client in clients]
        refusal = getattr(form, "refusal", None)
        row_errors = dict(form.row_errors)
        problems: list[str] = []
        if refusal is not None and refusal.client_ids:
            names = self.client_names(refusal.client_ids, clients)
            # Listed in the order of the rows (name, number), then any not shown.
            position = {pk: i for i, pk in enumerate(current_ids)}
            ordered = sorted(
                refusal.client_ids, key=lambda pk: (position.get(pk, len(position)), pk)
            )
            problems = [names[client_id] for client_id in ordered]
            row_message = (
                TransferPerClientForm.error_messages["unassigned_row"]
                if refusal.code == "client_unassigned"
                else refusal.messages[0]
            )
            for client_id in refusal.client_ids:
                row_errors[client_id] = row_message
        elif form.is_bound and fill and form.cleaned_data.get("client_ids") != current_ids:
            # A filled form re-renders the current list: say so when it changed.
            form.add_error(
                None,
                ValidationError(
                    TransferPerClientForm.error_messages["list_changed"].format(
                        old=self.old_user.full_name
                    ),
                    code="list_changed",
                ),
            )
        posted = form.data if form.is_bound else {}
        client_url = reverse("clients:client_detail", args=[ROW_PK_MARK]).replace(
            str(ROW_PK_MARK), "{pk}"
        )
        query = posted.get("q", "").strip().casefold()
        selected = set(posted.getlist("selected")) if form.is_bound else set()
        rows = []
        for client in clients:
            value = fill(client) if fill else None
            rows.append(
                {
                    "client": client,
                    "field_id": f"id_client-{client.pk}",
                    "holds": client_holdings_text(client),
                    "value": value if value is not None else form.posted_assignment(client.pk),
                    "error": row_errors.get(client.pk, ""),
                    "shown": row_matches(client, query),
                    "selected": str(client.pk) in selected,
                }
            )
            rows[-1]["html"] = per_client_row_html(rows[-1], client_url)
        user_query = posted.get("user_q", "").strip().casefold()
        ticked = set(posted.getlist("distribute_to")) if form.is_bound else set()
        new_users = [
            {
                "user": user,
                "reference": user_reference(user),
                "workload": workload_label(user),
                "checked": str(user.pk) in ticked,
                "shown": not user_query or user_query in user.full_name.casefold(),
            }
            for user in self.new_users()
        ]
        for entry in new_users:
            entry["option_html"], entry["checkbox_html"] = eligible_user_html(entry)
        if request_key is None:
            request_key = form.data.get("request_key", "") if form.is_bound else ""
        return render(
            self.request,
            self.template_name,
            {
                "old_user": self.old_user,
                "holdings": selectors.user_holdings(user=self.old_user),
                "form": form,
                "rows": rows,
                "shown_count": sum(1 for row in rows if row["shown"]),
                "new_users": new_users,
                "users_datalist_id": USERS_DATALIST_ID,
                "shown_client_ids": ",".join(str(pk) for pk in current_ids),
                "request_key": request_key or new_request_key(),
                "refused_clients": problems,
                "refusal": refusal,
                "deactivate_checked": form.is_bound and form.data.get("deactivate_old_user"),
                "distribute_mode": form.data.get("distribute_mode", "") if form.is_bound else "",
                "distribution": distribution,
                "preview": preview,
                "too_many_clients": too_many,
                "too_many_message": too_many_clients_message(self.old_user.username),
                "max_clients": PER_CLIENT_MAX_CLIENTS,
            },
        )

    @staticmethod
    def client_names(client_ids, clients) -> dict[int, str]:
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


class TransferDetailView(SettingsPermissionMixin, View):
    """The receipt: who, when, from whom, to whom, counts, every moved record."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)
    template_name = "transfers/transfer_detail.html"
    paginate_by = 50

    def get(self, request, pk):
        transfer = get_object_or_404(
            Transfer.objects.select_related("reverted_transfer").prefetch_related(
                Prefetch("recipients", queryset=TransferRecipient.objects.order_by("to_user_name"))
            ),
            pk=pk,
        )
        record_type = request.GET.get("type", "")
        if record_type not in RecordType.values:
            record_type = ""
        rows = selectors.transfer_records(transfer=transfer, record_type=record_type or None)
        page = Paginator(rows, self.paginate_by).get_page(request.GET.get("page"))
        for row in page.object_list:
            row.url = (
                reverse(RECORD_URL_NAMES[row.record_type], args=[row.record_id])
                if row.record_label
                else ""
            )
        revert_refusal = None
        can_revert = request.user.has_perm(TRANSFER_RECORDS_PERMISSION)
        if can_revert:
            revert_refusal = selectors.transfer_revert_refusal(
                transfer=transfer, acting_user=request.user
            )
        reverted_by = Transfer.objects.filter(reverted_transfer=transfer).first()
        skipped_page = None
        if transfer.mode == Transfer.Mode.REVERT:
            skipped_page = Paginator(
                selectors.revert_skipped_records(revert=transfer), self.paginate_by
            ).get_page(1)
            for row in skipped_page.object_list:
                row.url = (
                    reverse(RECORD_URL_NAMES[row.record_type], args=[row.record_id])
                    if row.record_label
                    else ""
                )
        query = request.GET.copy()
        query.pop("page", None)
        return render(
            request,
            self.template_name,
            {
                "transfer": transfer,
                "recipients": transfer.recipients.all(),
                "page_obj": page,
                "rows": page.object_list,
                "page_query": query.urlencode(),
                "record_type": record_type,
                "record_types": RecordType.choices,
                "can_revert": can_revert and revert_refusal is None,
                "revert_refusal": revert_refusal,
                "reverted_by": reverted_by,
                "skipped_page": skipped_page,
                "client_list_url": reverse("clients:client_list"),
                "matter_list_url": reverse("clients:matter_list"),
                "case_list_url": reverse("clients:case_list"),
            },
        )


class Echo:
    """A file-like object whose write returns the line, for csv.writer."""

    def write(self, value):
        return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas.
    return "'" + text if text.startswith(FORMULA_START) else text


class TransferCsvView(SettingsPermissionMixin, View):
    """Every row of a receipt as CSV, streamed: memory stays flat whatever the size."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)
    header = [
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

    def get(self, request, pk):
        transfer = get_object_or_404(Transfer, pk=pk)
        names = dict(transfer.recipients.values_list("to_user_id", "to_user_name"))
        if transfer.from_user_id is not None:
            names[transfer.from_user_id] = transfer.from_user_name
        response = StreamingHttpResponse(
            self.lines(transfer, names), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="transfer-{transfer.pk}.csv"'
        return response

    def lines(self, transfer, names) -> Iterator[str]:
        writer = csv.writer(Echo())
        yield writer.writerow(self.header)
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
                    csv_cell(self.user_name(row.from_user, row.from_user_id, names)),
                    csv_cell(self.user_name(row.to_user, row.to_user_id, names)),
                    "yes" if row.share_merged else "",
                ]
            )

    @staticmethod
    def user_name(user, user_id, names) -> str:
        if user is not None:
            return user.full_name
        return names.get(user_id, "")


class TransferRevertMixin(SettingsPermissionMixin):
    extra_permissions = (VIEW_TRANSFER_PERMISSION, TRANSFER_RECORDS_PERMISSION)
    template_name = "transfers/transfer_revert.html"

    def render_confirmation(self, transfer, refusal=None):
        if refusal is None:
            refusal = selectors.transfer_revert_refusal(
                transfer=transfer, acting_user=self.request.user
            )
        return render(
            self.request,
            self.template_name,
            {
                "transfer": transfer,
                "refusal": refusal,
                "changed_count": selectors.transfer_changed_since(transfer=transfer).count()
                if refusal is None
                else 0,
                "request_key": new_request_key(),
            },
        )


class TransferRevertConfirmView(TransferRevertMixin, View):
    """The page the Revert button leads to: what will happen, and a POST button."""

    http_method_names = ["get", "head"]

    def get(self, request, pk):
        return self.render_confirmation(get_object_or_404(Transfer, pk=pk))


class TransferRevertView(TransferRevertMixin, View):
    """POST only: revert a transfer and show the new receipt."""

    http_method_names = ["post"]

    def post(self, request, pk):
        transfer = get_object_or_404(Transfer, pk=pk)
        key = request.POST.get("request_key", "").strip() or None
        if key is not None and len(key) > 64:
            raise Http404("Bad request key.")
        already_saved = key is not None and Transfer.objects.filter(request_key=key).exists()
        try:
            revert = services.transfer_revert(
                acting_user=request.user, transfer=transfer, request_key=key
            )
        except TransferRefused as refusal:
            return self.render_confirmation(transfer, refusal=refusal)
        if already_saved:
            messages.info(request, "This revert was already saved: here is its receipt.")
        else:
            messages.success(request, self.summary(revert))
        return HttpResponseRedirect(revert.get_absolute_url())

    @staticmethod
    def summary(revert: Transfer) -> str:
        recipients = get_text_list([r.to_user_name for r in revert.recipients.all()], "and")
        text = f"Reverted transfer #{revert.reverted_transfer_id}: moved back " + counts_text(
            revert.client_count, revert.matter_count, revert.case_count, revert.share_count
        )
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


class TransferListView(SettingsPermissionMixin, ListView):
    """Transfer History: every transfer, newest first, searchable by name."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)
    template_name = "transfers/transfer_list.html"
    context_object_name = "transfers"
    paginate_by = 50

    def get_queryset(self):
        self.search = self.request.GET.get("q", "").strip()[:200]
        return selectors.transfer_list(search=self.search).prefetch_related(
            Prefetch("recipients", queryset=TransferRecipient.objects.order_by("to_user_name"))
        )

    def get_context_data(self, **kwargs):
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            search=self.search,
            page_query=query.urlencode(),
            active_jobs=TransferJob.objects.filter(status__in=TransferJob.ACTIVE).order_by(
                "created_at", "pk"
            ),
            **kwargs,
        )


# --- background transfers -------------------------------------------------------

JOB_REFRESH_SECONDS = 2


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


class TransferJobMixin(SettingsPermissionMixin):
    extra_permissions = (VIEW_TRANSFER_PERMISSION,)

    def job_state(self, pk) -> jobs.JobState:
        job = get_object_or_404(TransferJob, pk=pk)
        return jobs.transfer_job_state(job=job)


class TransferJobView(TransferJobMixin, View):
    """Transfer in progress: the phase, the counts, a progress bar and the
    elapsed time, updated by static/js/app.js (a meta refresh without
    script); the receipt once done, the refusal or failure otherwise."""

    template_name = "transfers/transfer_job.html"

    def get(self, request, pk):
        state = self.job_state(pk)
        job = state.job
        if state.receipt is not None:
            messages.success(request, transfer_summary(state.receipt))
            return HttpResponseRedirect(state.receipt.get_absolute_url())
        form_url = reverse(
            "transfers:transfer_all"
            if job.mode == Transfer.Mode.ALL
            else "transfers:transfer_per_client",
            args=[job.from_user_id],
        )
        return render(
            request,
            self.template_name,
            {
                "job": job,
                "state": job_state_data(state),
                "refresh_seconds": JOB_REFRESH_SECONDS,
                "form_url": form_url,
            },
        )


class TransferJobStatusView(TransferJobMixin, View):
    """The progress page's data as JSON, polled by its script."""

    http_method_names = ["get", "head"]

    def get(self, request, pk):
        state = self.job_state(pk)
        data = job_state_data(state)
        data["page_url"] = state.job.get_absolute_url()
        response = JsonResponse(data)
        response["Cache-Control"] = "no-store"
        return response
