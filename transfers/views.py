"""Transfer screens: User Transfer All, User Transfer (per client), the receipt
with its CSV and Revert, and Transfer History.

The views are thin: forms check the input, transfers.jobs and
transfers.services move the records (one transaction per Save, now or in the
background), every refusal the services raise (TransferRefused) is put back on
the form, next to its field, with nothing changed, and transfers.presenters
puts the results into words and rows."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import ListView

from clients.models import Client
from clients.record_types import RECORD_TYPES
from transfers import jobs, presenters, row_filling, selectors, services
from transfers.errors import TransferRefused
from transfers.forms import (
    PER_CLIENT_MAX_CLIENTS,
    TransferAllForm,
    TransferPerClientForm,
    new_request_key,
    user_choices,
)
from transfers.models import Transfer, TransferJob, TransferRecipient, TransferredRecord
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

    def save(self, form, service):
        """Save a valid form through `service`, now or in the background
        (jobs.transfer_submit): a refusal goes on the form, success leads to
        the receipt or the job's progress page."""
        try:
            submitted = jobs.transfer_submit(
                service=service,
                acting_user=self.request.user,
                old_user=self.old_user,
                request_key=form.cleaned_data["request_key"],
                **form.transfer_arguments(),
            )
        except TransferRefused as refusal:
            form.add_refusal(presenters.with_job_link(refusal))
            return self.render(form)
        messages.add_message(self.request, *presenters.save_message(submitted, self.old_user))
        return HttpResponseRedirect(submitted.get_absolute_url())


# Not cached (nor kept for Back): after a Save, Back asks again and the form says
# at once when there is nothing left to transfer.
@method_decorator(never_cache, name="dispatch")
class TransferAllView(OldUserMixin, View):
    """User Transfer All: everything the old user owns, and their shares, to one
    new user."""

    template_name = "transfers/transfer_all.html"

    def get(self, request, user_pk):
        return self.render(self.form(initial={"request_key": new_request_key()}))

    def post(self, request, user_pk):
        form = self.form(request.POST)
        if not form.is_valid():
            return self.render(form)
        return self.save(form, services.records_transfer_all)

    def form(self, *args, **kwargs) -> TransferAllForm:
        return TransferAllForm(*args, new_user_choices=user_choices(self.new_users()), **kwargs)

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


@method_decorator(never_cache, name="dispatch")
class TransferPerClientView(OldUserMixin, View):
    """User Transfer: a new user for each client linked to the old user.

    Besides Save, the form's buttons fill or show the form and transfer
    nothing: Filter, "Assign to every client", "Assign selected to",
    Distribute and Preview. With JavaScript in the page the first three work
    in the browser and the last two fetch the same answer without reloading."""

    template_name = "transfers/transfer_per_client.html"

    def get(self, request, user_pk):
        form = self.form(initial={"request_key": new_request_key()})
        return self.render(form, request_key=form.initial["request_key"])

    def post(self, request, user_pk):
        form = self.form(request.POST)
        if form.fills_rows() and form.action == "distribute":
            return self.distribute(form)
        if form.fills_rows():
            return self.assign(form)
        if not form.is_valid() or form.action == "filter":
            return self.render(form)
        if form.action == "preview":
            return self.preview(form)
        return self.save(form, services.records_transfer_per_client)

    def form(self, *args, **kwargs) -> TransferPerClientForm:
        return TransferPerClientForm(
            *args,
            old_user=self.old_user,
            listed_clients=self.listed_clients,
            eligible_users=self.new_users,
            **kwargs,
        )

    def listed_clients(self) -> list[Client]:
        """The rows: every linked client, or none when there are more than
        User Transfer handles (too_many)."""
        if not hasattr(self, "_listed_clients"):
            linked = selectors.linked_clients(user=self.old_user)
            clients = list(linked[: PER_CLIENT_MAX_CLIENTS + 1])
            self.too_many = len(clients) > PER_CLIENT_MAX_CLIENTS
            self._listed_clients = [] if self.too_many else clients
        return self._listed_clients

    def distribute(self, form):
        """Fill the rows nobody is assigned to yet (or, asked to, every row)
        with a proposal spreading the clients among the users chosen."""
        data = form.cleaned_data
        # In the order of the list on the page, whatever the order posted.
        chosen = [user for user in self.new_users() if user.pk in set(data["distribute_to"])]
        distribution = row_filling.client_distribution_keeping(
            old_user=self.old_user,
            to_users=chosen,
            mode=data["distribute_mode"],
            kept={} if data["distribute_replace"] else data["assignments"],
        )
        fill, totals = presenters.distribution_fill(distribution, chosen)
        count = row_filling.fill_count(self.listed_clients(), fill, form.posted_assignment)
        status = row_filling.distribute_status(count, replace=data["distribute_replace"])
        return self.render(form, fill=fill, distribution=totals, fill_status=status)

    def assign(self, form):
        """Assign all to / Assign selected to, saying how many rows it replaced."""
        users = self.new_users()
        fill = presenters.assignment_fill(form, users)
        count = row_filling.fill_count(self.listed_clients(), fill, form.posted_assignment)
        data = form.cleaned_data
        user_id = data["assign_all_user" if form.action == "assign_all" else "assign_selected_user"]
        name = next((user.full_name for user in users if user.pk == user_id), "")
        status = row_filling.assign_status(count, user_name=name) if name else ""
        return self.render(form, fill=fill, fill_status=status)

    def preview(self, form):
        """What Save would move to each new user, from the engine's own dry run."""
        try:
            preview = services.records_transfer_per_client(
                acting_user=self.request.user,
                old_user=self.old_user,
                dry_run=True,
                **form.transfer_arguments(),
            )
        except TransferRefused as refusal:
            form.add_refusal(refusal)
            return self.render(form)
        return self.render(form, preview=preview)

    def render(
        self, form, *, fill=None, request_key=None, distribution=None, preview=None, fill_status=""
    ):
        clients = self.listed_clients()
        holdings = selectors.user_holdings(user=self.old_user)
        return render(
            self.request,
            self.template_name,
            {
                "old_user": self.old_user,
                "holdings": holdings,
                # Linked through their matters or cases only: "under 28 more".
                "linked_elsewhere": max(len(clients) - holdings.clients, 0),
                **presenters.per_client_form(
                    form, clients, self.new_users(), fill=fill, request_key=request_key
                ),
                "distribution": distribution,
                "fill_status": fill_status,
                "preview": preview,
                "too_many_clients": self.too_many,
            },
        )


class TransferDetailView(SettingsPermissionMixin, View):
    """The receipt: who, when, from whom, to whom, counts, every moved record."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)
    template_name = "transfers/transfer_detail.html"
    paginate_by = 50

    def get(self, request, pk):
        transfer = get_object_or_404(
            Transfer.objects.select_related("reverted_transfer").prefetch_related(
                Prefetch("recipients", queryset=TransferRecipient.objects.order_by("to_user_name")),
                Prefetch(
                    "reverted_transfer__recipients",
                    queryset=TransferRecipient.objects.order_by("to_user_name"),
                ),
            ),
            pk=pk,
        )
        record_type = request.GET.get("type", "")
        if record_type not in RecordType.values:
            record_type = ""
        rows = selectors.transfer_records(transfer=transfer, record_type=record_type or None)
        page = self.linked_page(rows, request.GET.get("page"))
        can_revert = request.user.has_perm(TRANSFER_RECORDS_PERMISSION)
        revert_refusal = (
            selectors.transfer_revert_refusal(transfer=transfer, acting_user=request.user)
            if can_revert
            else None
        )
        skipped_page = None
        if transfer.mode == Transfer.Mode.REVERT:
            skipped_page = self.linked_page(selectors.revert_skipped_records(revert=transfer), 1)
        return render(
            request,
            self.template_name,
            {
                "transfer": transfer,
                "recipients": transfer.recipients.all(),
                "page_obj": page,
                "rows": page.object_list,
                "page_query": presenters.page_query(request.GET),
                "record_type": record_type,
                "record_types": RecordType.choices,
                "can_revert": can_revert and revert_refusal is None,
                "revert_refusal": revert_refusal,
                "reverted_by": Transfer.objects.filter(reverted_transfer=transfer).first(),
                "skipped_page": skipped_page,
                # Only shares have a permission: no column that is empty on every row.
                "with_permission": transfer.share_count > 0
                or getattr(transfer.reverted_transfer, "share_count", 0) > 0,
                "client_list_url": reverse("clients:client_list"),
                "matter_list_url": reverse("clients:matter_list"),
                "case_list_url": reverse("clients:case_list"),
            },
        )

    def linked_page(self, rows, number):
        """A page of receipt rows, each with the URL of its record if it still exists."""
        page = Paginator(rows, self.paginate_by).get_page(number)
        for row in page.object_list:
            url_name = RECORD_URL_NAMES[row.record_type]
            row.url = reverse(url_name, args=[row.record_id]) if row.record_label else ""
        return page


class TransferCsvView(SettingsPermissionMixin, View):
    """Every row of a receipt as CSV, streamed: memory stays flat whatever the size."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)

    def get(self, request, pk):
        transfer = get_object_or_404(Transfer, pk=pk)
        response = StreamingHttpResponse(
            presenters.receipt_csv_lines(transfer), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="transfer-{transfer.pk}.csv"'
        return response


class TransferRevertMixin(SettingsPermissionMixin):
    extra_permissions = (VIEW_TRANSFER_PERMISSION, TRANSFER_RECORDS_PERMISSION)
    template_name = "transfers/transfer_revert.html"

    def render_confirmation(self, transfer, refusal=None):
        if refusal is None:
            refusal = selectors.transfer_revert_refusal(
                transfer=transfer, acting_user=self.request.user
            )
        if refusal is None and (job := jobs.active_transfer_job(user=transfer.from_user_id)):
            refusal = presenters.with_job_link(jobs.transfer_in_progress(job))
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
    """POST only: revert a transfer and show the new receipt, or, above
    TRANSFER_BACKGROUND_THRESHOLD records, its progress page."""

    http_method_names = ["post"]

    def post(self, request, pk):
        transfer = get_object_or_404(Transfer.objects.select_related("from_user"), pk=pk)
        key = request.POST.get("request_key", "").strip() or None
        if key is not None and len(key) > 64:
            raise Http404("Bad request key.")
        try:
            submitted = jobs.revert_submit(
                acting_user=request.user, transfer=transfer, request_key=key
            )
        except TransferRefused as refusal:
            return self.render_confirmation(transfer, refusal=presenters.with_job_link(refusal))
        messages.add_message(request, *presenters.revert_message(submitted, transfer))
        return HttpResponseRedirect(submitted.get_absolute_url())


class TransferListView(SettingsPermissionMixin, ListView):
    """Transfer History: every transfer, newest first, searchable by name."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)
    template_name = "transfers/transfer_list.html"
    context_object_name = "transfers"
    paginate_by = 50

    def get_queryset(self):
        self.search = self.request.GET.get("q", "").strip()[:200]
        by_name = TransferRecipient.objects.order_by("to_user_name")
        return selectors.transfer_list(search=self.search).prefetch_related(
            Prefetch("recipients", queryset=by_name),
            # A revert names who the records came back from: the reverted transfer's new users.
            Prefetch("reverted_transfer__recipients", queryset=by_name),
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            search=self.search,
            page_query=presenters.page_query(self.request.GET),
            active_jobs=TransferJob.objects.filter(status__in=TransferJob.ACTIVE).order_by(
                "created_at", "pk"
            ),
            **kwargs,
        )


# --- background transfers -------------------------------------------------------

JOB_REFRESH_SECONDS = 2


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
            messages.success(request, presenters.receipt_summary(state.receipt))
            return HttpResponseRedirect(state.receipt.get_absolute_url())
        return render(
            request,
            self.template_name,
            {
                "job": job,
                "state": presenters.job_state_data(state),
                "refresh_seconds": JOB_REFRESH_SECONDS,
                "form_url": presenters.job_form_url(job),
                "form_label": presenters.job_form_label(job),
                "noun": presenters.job_noun(job),
            },
        )


class TransferJobStatusView(TransferJobMixin, View):
    """The progress page's data as JSON, polled by its script."""

    http_method_names = ["get", "head"]

    def get(self, request, pk):
        state = self.job_state(pk)
        data = presenters.job_state_data(state)
        data["page_url"] = state.job.get_absolute_url()
        response = JsonResponse(data)
        response["Cache-Control"] = "no-store"
        return response
