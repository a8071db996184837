"""Clients, Matters, Cases and Deadlines grids and record pages.

Everything here reads; nothing writes. A grid shows only the records the
signed-in user may see (clients.access), filtered and sorted from the URL so
a link such as /cases/?owner=12 shows "Cases owned by Dana Reyes". A record
page is 404 for a user who may not see it, so its existence does not leak."""

from django.core.paginator import EmptyPage
from django.db.models import Model
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils.timezone import localdate as today
from django.views import View

from clients.access import records_for_user
from clients.filters import (
    CaseFilterSet,
    ClientFilterSet,
    DeadlineFilterSet,
    DueWindow,
    MatterFilterSet,
    owner_options,
)
from clients.forms import GridOptionsForm, page_number
from clients.models import Case, Client, Deadline, Matter
from clients.selectors import (
    record_ownership_history,
    record_shares,
    related_records,
    visible_record_get,
    visible_records,
)
from clients.tables import (
    COUNT_CAP,
    CappedPaginator,
    CaseTable,
    ClientTable,
    DeadlineTable,
    MatterTable,
)
from users.models import ACCESS_SETTINGS_PERMISSION

RECEIPT_PERMISSIONS = (ACCESS_SETTINGS_PERMISSION, "transfers.view_transfer")
# Result sets up to this size are read by primary key (see rows_and_count).
SMALL_RESULT = 1000
SORT_NOTICE = (
    "Sorting by {column} works on up to {cap:,} {noun}: "
    "filter or search first. Shown by number instead."
)


class RecordGridView(View):
    model: type[Model]
    filterset_class = None
    table_class = None
    title = ""
    template_name = "clients/record_list.html"
    count_cap = COUNT_CAP
    small_result = SMALL_RESULT

    def get(self, request):
        records = visible_records(user=request.user, model=self.model)
        filterset = self.filterset_class(request.GET or None, queryset=records, request=request)
        queryset, counted = self.rows_and_count(filterset.qs)

        requested_sort = request.GET.get("sort") or None
        table = self.table_class(queryset, order_by=requested_sort)
        sort_is_valid = bool(requested_sort and table.order_by)
        if not table.order_by:  # an unknown sort column: the default order
            table.order_by = self.table_class._meta.order_by

        sort_notice = ""
        unindexed_column = table.unindexed_sort_column()
        if counted > self.count_cap and unindexed_column:
            sort_notice = SORT_NOTICE.format(
                column=unindexed_column, cap=self.count_cap, noun=self.title.lower()
            )
            table.order_by = self.table_class._meta.order_by
            sort_is_valid = False

        per_page = GridOptionsForm(request.GET).cleaned_per_page()
        page = page_number(request.GET.get("page"))
        try:
            table.paginate(
                paginator_class=CappedPaginator,
                per_page=per_page,
                page=page,
                counted=counted,
                cap=self.count_cap,
            )
        except EmptyPage:  # past the end: the last page
            table.page = table.paginator.page(table.paginator.num_pages)

        context = {
            "title": self.title,
            "noun": self.title.lower(),
            "noun_singular": self.model._meta.verbose_name,
            "filter": filterset,
            "table": table,
            "options_form": GridOptionsForm(initial={"per_page": str(per_page)}),
            "scope": self.scope_text(filterset),
            "owner_options": owner_options(),
            "owner_selected": getattr(filterset.owner_value, "pk", None),
            "sort_notice": sort_notice,
            "page_range": table.paginator.get_elided_page_range(
                table.page.number, on_each_side=2, on_ends=1
            ),
            "sort": requested_sort if sort_is_valid else "",
            "is_filtered": any(request.GET.get(name) for name in filterset.filters),
            "list_url": request.path,
        }
        return render(request, self.template_name, context)

    def rows_and_count(self, queryset):
        """The rows to page through and how many match (up to the cap + 1), with
        one counting query and no COUNT(*) over the table.

        It reads the ids of at most cap + 1 matching rows, in no order, so the
        scan stops as soon as it has them; their number is the count. When few
        rows match (up to `small_result`), the page is read by those primary keys
        and sorted in memory: a rare search term then costs one scan, not a second
        walk along a sort index past millions of rows that do not match. Larger
        results page through the filtered queryset, where a sort index finds a
        page of matches quickly."""
        ids = list(queryset.order_by().values_list("pk", flat=True)[: self.count_cap + 1])
        if len(ids) > self.small_result:
            return queryset, len(ids)
        rows = queryset.model.objects.filter(pk__in=ids)
        if isinstance(queryset.query.select_related, dict):
            rows = rows.select_related(*queryset.query.select_related)
        return rows, len(ids)

    def scope_text(self, filterset) -> str:
        """The grid's caption: "Cases owned by Dana Reyes", "Matters of Hoffmann Foods"."""
        parts = [self.title]
        for model, name in ((Client, "client"), (Matter, "matter"), (Case, "case")):
            record_id = filterset.id_value(name)
            if record_id is None:
                continue
            # Named only when the user may see it, so the caption leaks nothing.
            parent = records_for_user(self.request.user, model).filter(pk=record_id).first()
            if parent is not None:
                parts.append(f"of {parent}")
        owner = filterset.owner_value
        if owner is not None:
            parts.append(f"owned by {owner.full_name}")
        return " ".join(parts) + self.scope_suffix(filterset)

    def scope_suffix(self, filterset) -> str:
        return ""


class ClientListView(RecordGridView):
    model = Client
    filterset_class = ClientFilterSet
    table_class = ClientTable
    title = "Clients"


class MatterListView(RecordGridView):
    model = Matter
    filterset_class = MatterFilterSet
    table_class = MatterTable
    title = "Matters"


class CaseListView(RecordGridView):
    model = Case
    filterset_class = CaseFilterSet
    table_class = CaseTable
    title = "Cases"


class DeadlineListView(RecordGridView):
    model = Deadline
    filterset_class = DeadlineFilterSet
    table_class = DeadlineTable
    title = "Deadlines"

    def scope_suffix(self, filterset) -> str:
        """ "Deadlines owned by Dana Reyes, overdue", "..., due in the next 7 days"."""
        due = filterset.valid_value("due")
        if not due:
            return ""
        if due == DueWindow.OVERDUE:
            return ", overdue"
        return f", due in the {dict(DueWindow.CHOICES)[due].lower()}"


class RecordDetailView(View):
    model: type[Model]
    template_name = ""

    def get(self, request, pk):
        record = visible_record_get(user=request.user, model=self.model, pk=pk)
        if record is None:
            raise Http404("No such record.")
        context = {
            "object": record,
            "shares": record_shares(record=record),
            "history": record_ownership_history(record=record),
            # The receipts live in the settings area; others see the number only.
            "can_open_receipts": all(request.user.has_perm(perm) for perm in RECEIPT_PERMISSIONS),
            "today": today(),  # deadlines before it and still open are overdue
        }
        context.update(self.extra_context(record))
        return render(request, self.template_name, context)

    def extra_context(self, record) -> dict:
        return {}

    def related(self, model, list_name, **filters):
        rows, more = related_records(user=self.request.user, model=model, **filters)
        return {"rows": rows, "more": more, "grid_url": self.grid_url(list_name, filters)}

    @staticmethod
    def grid_url(list_name: str, filters: dict) -> str:
        query = "&".join(f"{key.removesuffix('_id')}={value}" for key, value in filters.items())
        return f"{reverse(f'clients:{list_name}')}?{query}"


class ClientDetailView(RecordDetailView):
    model = Client
    template_name = "clients/client_detail.html"

    def extra_context(self, record):
        return {
            "matters": self.related(Matter, "matter_list", client_id=record.pk),
            "cases": self.related(Case, "case_list", client_id=record.pk),
        }


class MatterDetailView(RecordDetailView):
    model = Matter
    template_name = "clients/matter_detail.html"

    def extra_context(self, record):
        return {
            "cases": self.related(Case, "case_list", matter_id=record.pk),
            "deadlines": self.related(Deadline, "deadline_list", matter_id=record.pk),
        }


class CaseDetailView(RecordDetailView):
    model = Case
    template_name = "clients/case_detail.html"

    def extra_context(self, record):
        return {"deadlines": self.related(Deadline, "deadline_list", case_id=record.pk)}


class DeadlineDetailView(RecordDetailView):
    model = Deadline
    template_name = "clients/deadline_detail.html"

    def extra_context(self, record):
        return {"is_overdue": record.is_overdue(today())}
