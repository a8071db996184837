"""Grid columns, sort orders and pagination for clients, matters, cases and deadlines.

Every sort order ends with the record number, so pages are stable. A sort
with an index (clients/models.py; docs/indexes.md says which and why) reads
one page with ORDER BY ... LIMIT instead of sorting the table; the others
(`unindexed_sorts`) apply when a filter or search has narrowed the rows."""

from contextlib import contextmanager, suppress

import django_tables2 as tables
from django.core.paginator import Paginator
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from clients.models import Case, Client, Deadline, Matter

PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_PER_PAGE = 25
# The grids count matching rows up to this many and then say "10,000+".
COUNT_CAP = 10_000
# A page that skips at least this many rows reads their ids first (CappedPaginator).
IDS_FIRST_OFFSET = 1_000


class CappedPaginator(Paginator):
    """A paginator that never counts a huge table.

    COUNT(*) over 2.5 million visible cases costs a scan of the table on every
    page view, and nobody pages through more than a few thousand rows: they
    search or filter instead. So the grid reads at most `cap` + 1 matching ids
    (a scan that stops as soon as it has them; see RecordGridView.rows_and_count)
    and hands that number in as `counted`. The paginator reports "cap+" when
    there are more and offers pages up to the cap, so the deepest OFFSET is
    bounded too; a page number past the last page shows the last page. Unlike
    a keyset paginator it keeps numbered pages and sorting by any column;
    unlike the planner's row estimate it is exact whenever the answer is small
    enough to page through, and it follows filters and per-user visibility."""

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        self.counted = kwargs.pop("counted")
        self.cap = kwargs.pop("cap", COUNT_CAP)
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, **kwargs)

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.cap)

    @property
    def is_capped(self) -> bool:
        return self.counted > self.cap

    def _get_page(self, object_list, *args, **kwargs):
        """A deep page is read in two steps: the ids of its rows (in the grid's
        order, OFFSET and LIMIT), then those rows with what they show (the owner,
        client, matter, case). In one query, PostgreSQL joins the related rows of
        every row the OFFSET skips: 10,000 skipped rows cost 30,000 lookups on the
        deepest page, where their ids alone often come from an index. A page near
        the start is one query, as the first. Either is read at once, sorted rather
        than walked when every match is counted (matches_sorted)."""
        records = getattr(object_list, "data", None)  # django-tables2's rows
        if isinstance(records, QuerySet):
            with matches_sorted(when=not self.is_capped):
                if records.query.low_mark >= IDS_FIRST_OFFSET:
                    object_list.data = rows_by_ids(records)
                elif not self.is_capped:
                    object_list.data = list(records)
        return super()._get_page(object_list, *args, **kwargs)


@contextmanager
def matches_sorted(*, when: bool):
    """On PostgreSQL, `when` every match has been counted (at most the cap), the
    page inside is planned without plain index scans: the database collects
    those few thousand matches (through the owner, filter or search indexes, as a
    bitmap), sorts them and takes the page. Otherwise it may walk the index of
    the grid's order and test each row, which is quick when matches are dense
    along it, and slow when they are sparse: an attorney's 1,600 hearings among
    2,500,000 deadlines by due date took 0.6 s to walk and 15 ms to sort. With
    at most the cap to sort, the sort's cost is bounded; the walk's is not. Index
    only and bitmap scans stay allowed; the setting ends with the block (with its
    own transaction, or set back inside the caller's)."""
    if not when or connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        try:
            yield
        finally:
            with suppress(DatabaseError):  # an aborted transaction drops it with itself
                cursor.execute("SET LOCAL enable_indexscan TO DEFAULT")


def rows_by_ids(queryset: QuerySet) -> list:
    """The rows of a sliced `queryset`, in its order: their ids first, then the rows."""
    ids = list(queryset.values_list("pk", flat=True))
    rows = queryset.model._default_manager.filter(pk__in=ids)
    if isinstance(queryset.query.select_related, dict):
        rows = rows.select_related(*queryset.query.select_related)
    by_id = {row.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]  # one deleted in between is left out


def owner_cell(owner) -> str:
    if owner.is_active:
        return owner.full_name
    return format_html("{} {}", owner.full_name, render_to_string("partials/_inactive_badge.html"))


class RecordTable(tables.Table):
    number = tables.Column(verbose_name="Number", linkify=True, order_by=("number",))
    owner = tables.Column(
        verbose_name="Owner",
        order_by=("owner__first_name", "owner__last_name", "owner_id", "number"),
    )

    # Columns whose order no index gives: those sorted through a join (the
    # owner's or the client's name) and those whose index would cost every
    # transfer more than it saves (see docs/indexes.md). The database sorts
    # every matching row, so the grids allow these sorts when at most
    # COUNT_CAP rows match and otherwise ask for a filter.
    unindexed_sorts = frozenset({"owner", "client"})

    class Meta:
        template_name = "clients/grid_table.html"
        order_by_field = "sort"
        page_field = "page"
        per_page_field = "per_page"
        attrs = {"class": "grid"}
        order_by = ("number",)

    def render_owner(self, value):
        return owner_cell(value)

    def unindexed_sort_column(self) -> str | None:
        """The name of the first column the table is sorted by that no index
        orders (lower case, as in "Sorting by caption ..."), or None."""
        for alias in self.order_by:
            if alias.bare in self.unindexed_sorts:
                return str(self.columns[alias.bare].verbose_name).lower()
        return None


def client_column() -> tables.Column:
    return tables.Column(
        verbose_name="Client",
        accessor="client",
        linkify=lambda record: record.client.get_absolute_url(),
        order_by=("client__name", "client__number", "number"),
    )


class ClientTable(RecordTable):
    name = tables.Column(verbose_name="Name", order_by=("name", "number"))
    kind = tables.Column(verbose_name="Kind", order_by=("kind", "number"))
    status = tables.Column(verbose_name="Status", order_by=("status", "number"))

    class Meta(RecordTable.Meta):
        model = Client
        fields = ("number", "name", "kind", "status", "owner")
        empty_text = "No clients match."


class MatterTable(RecordTable):
    title = tables.Column(verbose_name="Title", order_by=("title", "number"))
    client = client_column()
    practice_area = tables.Column(
        verbose_name="Practice area", order_by=("practice_area", "number")
    )
    status = tables.Column(verbose_name="Status", order_by=("status", "number"))

    unindexed_sorts = RecordTable.unindexed_sorts | {"title", "practice_area", "status"}

    class Meta(RecordTable.Meta):
        model = Matter
        fields = ("number", "title", "client", "practice_area", "status", "owner")
        empty_text = "No matters match."

    def render_client(self, value):
        return value.name


class CaseTable(RecordTable):
    caption = tables.Column(verbose_name="Caption", order_by=("caption", "number"))
    client = client_column()
    court = tables.Column(verbose_name="Court", order_by=("court", "number"))
    status = tables.Column(verbose_name="Status", order_by=("status", "number"))

    unindexed_sorts = RecordTable.unindexed_sorts | {"caption", "court", "status"}

    class Meta(RecordTable.Meta):
        model = Case
        fields = ("number", "caption", "client", "court", "status", "owner")
        empty_text = "No cases match."

    def render_client(self, value):
        return value.name


class DeadlineTable(RecordTable):
    """Deadlines by due date, the soonest first; an open one past its date is marked overdue."""

    number = None  # deadlines have no number: the id breaks ties
    due_date = tables.Column(verbose_name="Due", order_by=("due_date", "id"))
    title = tables.Column(verbose_name="Title", linkify=True, order_by=("title", "id"))
    kind = tables.Column(verbose_name="Kind", order_by=("kind", "due_date", "id"))
    status = tables.Column(verbose_name="Status", order_by=("status", "due_date", "id"))
    matter = tables.Column(
        verbose_name="Matter",
        linkify=lambda record: record.matter.get_absolute_url(),
        order_by=("matter__number", "due_date", "id"),
    )
    case = tables.Column(
        verbose_name="Case",
        linkify=lambda record: record.case.get_absolute_url() if record.case_id else None,
        order_by=("case__number", "due_date", "id"),
        default="—",
    )
    client = client_column()
    owner = tables.Column(
        verbose_name="Owner",
        order_by=("owner__first_name", "owner__last_name", "owner_id", "due_date", "id"),
    )

    unindexed_sorts = frozenset({"owner", "client", "title", "kind", "status", "matter", "case"})

    class Meta(RecordTable.Meta):
        model = Deadline
        fields = ("due_date", "title", "kind", "status", "matter", "case", "client", "owner")
        sequence = fields
        order_by = ("due_date",)
        empty_text = "No deadlines match."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()

    def render_due_date(self, record):
        due = record.due_date.strftime("%-d %b %Y")
        if record.due_time is not None:
            due += record.due_time.strftime(", %H:%M")
        if record.is_overdue(self.today):
            return format_html('{} <span class="badge badge-overdue">Overdue</span>', due)
        return due

    def render_matter(self, value):
        return value.number

    def render_case(self, value):
        return value.number

    def render_client(self, value):
        return value.name
