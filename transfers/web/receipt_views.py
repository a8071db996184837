"""The receipt with its CSV and Revert, and Transfer History."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from clients.record_types import RECORD_TYPES
from transfers.background import state as job_states
from transfers.background import submit as job_submit
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferJob, TransferRecipient, TransferredRecord
from transfers.receipts import selectors
from transfers.receipts.due_soon import (
    DUE_SOON_DAYS,
    DueSoonList,
    all_open_received_url,
    deadlines_due_soon,
)
from transfers.receipts.receipt_csv import receipt_csv_lines
from transfers.web.fields import new_request_key
from transfers.web.presenters import words
from users.models import TRANSFER_RECORDS_PERMISSION
from users.views import SettingsPermissionMixin

VIEW_TRANSFER_PERMISSION = "transfers.view_transfer"
ReceiptRowType = TransferredRecord.RecordType

# The page of a receipt's revoked shares, beside its rows' "page".
REVOKED_PAGE = "revoked_page"

RECORD_URL_NAMES = {
    name: record_type.url_name
    for record_type in RECORD_TYPES
    for name in (record_type.name, record_type.share_name)
}


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
        if record_type not in ReceiptRowType.values:
            record_type = ""
        rows = selectors.transfer_records(
            transfer=transfer, record_type=record_type or None, share_revoked=False
        )
        page = self.linked_page(rows, request.GET.get("page"))
        # The shares a deactivating transfer revoked (a revert: gave back), listed apart.
        revoked_page = None
        if transfer.revoked_share_count:
            revoked = selectors.transfer_records(transfer=transfer, share_revoked=True)
            revoked_page = self.linked_page(revoked, request.GET.get(REVOKED_PAGE))
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
                "page_query": words.page_query(request.GET),
                "revoked_page": revoked_page,
                "revoked_text": words.revoked_text(transfer),
                "revoked_page_query": words.page_query(request.GET, REVOKED_PAGE),
                "revoked_page_param": REVOKED_PAGE,
                "record_type": record_type,
                "record_types": ReceiptRowType.choices,
                "can_revert": can_revert and revert_refusal is None,
                "revert_refusal": revert_refusal,
                "reverted_by": Transfer.objects.filter(reverted_transfer=transfer).first(),
                "skipped_page": skipped_page,
                # Only shares have a permission: no column that is empty on every row.
                "with_permission": transfer.record_counts.shares > 0
                or (
                    transfer.reverted_transfer is not None
                    and (
                        transfer.reverted_transfer.record_counts.shares > 0
                        or transfer.reverted_transfer.revoked_share_count > 0
                    )
                ),
                "moved_text": words.moved_text(transfer.record_counts),
                "due_soon": due_soon_sections(transfer),
                "due_soon_days": DUE_SOON_DAYS,
            },
        )

    def linked_page(self, rows, number):
        """A page of receipt rows, each with the URL of its record if it still exists."""
        page = Paginator(rows, self.paginate_by).get_page(number)
        for row in page.object_list:
            url_name = RECORD_URL_NAMES[row.record_type]
            row.url = reverse(url_name, args=[row.record_id]) if row.record_label else ""
        return page


def due_soon_sections(transfer: Transfer) -> list[tuple[TransferRecipient, DueSoonList, str]]:
    """Per new user of a transfer (a revert gives back, it hands nothing over):
    what they must do in the next two weeks, in the receipt's order, and the
    grid with all their open ones for a list cut short."""
    if transfer.mode == Transfer.Mode.REVERT or not transfer.record_counts["deadline"]:
        return []
    due = deadlines_due_soon(transfer=transfer)
    return [
        (
            recipient,
            due.get(recipient.to_user_id, DueSoonList()),
            all_open_received_url(transfer, recipient.to_user_id),
        )
        for recipient in transfer.recipients.all()
    ]


class TransferCsvView(SettingsPermissionMixin, View):
    """Every row of a receipt as CSV, streamed: memory stays flat whatever the size."""

    extra_permissions = (VIEW_TRANSFER_PERMISSION,)

    def get(self, request, pk):
        transfer = get_object_or_404(Transfer, pk=pk)
        response = StreamingHttpResponse(
            receipt_csv_lines(transfer), content_type="text/csv; charset=utf-8"
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
        if refusal is None and (job := job_states.active_transfer_job(user=transfer.from_user_id)):
            refusal = words.with_job_link(job_submit.transfer_in_progress(job))
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
            submitted = job_submit.revert_submit(
                acting_user=request.user, transfer=transfer, request_key=key
            )
        except TransferRefused as refusal:
            return self.render_confirmation(transfer, refusal=words.with_job_link(refusal))
        messages.add_message(request, *words.revert_message(submitted, transfer))
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
            page_query=words.page_query(self.request.GET),
            active_jobs=TransferJob.objects.filter(status__in=TransferJob.ACTIVE).order_by(
                "run_at", "created_at", "pk"
            ),
            can_cancel=self.request.user.has_perm(TRANSFER_RECORDS_PERMISSION),
            **kwargs,
        )
