"""The grids' filters, read from the URL (q, owner, status, client, matter; on
deadlines also case, kind and due).

A value that does not validate (an unknown owner, a status that does not
exist, text where an id belongs) is dropped by django-filter and the grid
shows everything else, with the field's error next to it: a normal page."""

import datetime

import django_filters
from django import forms
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from clients.models import (
    Case,
    CaseSearch,
    Client,
    ClientSearch,
    Deadline,
    DeadlineSearch,
    Matter,
    MatterSearch,
    SearchText,
)
from clients.search import common_terms, contains_condition
from clients.selectors import records_moved_by_transfer
from users.models import User

SEARCH_MAX_LENGTH = 100
# A search term matching up to this many clients' names is inlined as their ids.
CLIENT_ID_LIMIT = 1000
BIGINT_MAX = 2**63 - 1


def searches_text_tables() -> bool:
    """Whether the search reads the searched text's own tables: on PostgreSQL, where
    they exist (clients migration 0009); SQLite searches the records' columns."""
    return connection.vendor == "postgresql"


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.full_name if obj.is_active else f"{obj.full_name} (inactive)"


class OwnerFilter(django_filters.ModelChoiceFilter):
    field_class = OwnerChoiceField


class RecordIdFilter(django_filters.NumberFilter):
    """An id: whole numbers inside the database's range only."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


def owner_options() -> list[tuple[int, str]]:
    """(id, label) for the owner select: every user by name, inactive ones marked.

    One query; the template writes the options itself, because rendering a
    few thousand options through the widget templates costs more than the
    rest of the page."""
    users = owner_choices().values_list("pk", "first_name", "last_name", "username", "is_active")
    options = []
    for pk, first_name, last_name, username, is_active in users:
        name = f"{first_name} {last_name}".strip() or username
        options.append((pk, name if is_active else f"{name} (inactive)"))
    return options


def owner_choices(request=None):
    """Everyone who may appear as an owner: all users, by name (a few thousand at most)."""
    return User.objects.only("pk", "username", "first_name", "last_name", "is_active").order_by(
        "first_name", "last_name", "username", "pk"
    )


class RecordFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        max_length=SEARCH_MAX_LENGTH,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    owner = OwnerFilter(
        label="Owner", queryset=owner_choices, empty_label="Any owner", field_name="owner"
    )
    # "Moved by transfer #N" (to one user): what a receipt's count links to.
    transfer = RecordIdFilter(label="Moved by transfer #", method="filter_moved")
    to = OwnerFilter(
        label="Moved to", queryset=owner_choices, method="filter_moved_to", widget=forms.HiddenInput
    )

    search_fields: tuple[str, ...] = ()
    # On PostgreSQL the search reads the searched text's own table (SearchText):
    # the records' tables carry no trigram index, so a transfer does not write one.
    search_text_model: type[SearchText] | None = None
    # Matters and cases also match on their client's name.
    search_client_name = False

    def filter_search(self, queryset, name, value):
        terms = value.split()[:5]
        # A term common in the table is walked rather than looked up (clients/search.py).
        walked = common_terms(
            queryset.model, self.search_fields, terms, client_name=self.search_client_name
        )
        # Every word must match one of the fields, so "Hoffmann Foods" finds "Hoffmann Foods 42".
        for term in terms:
            queryset = queryset.filter(self.search_condition(term, walked=term in walked))
        return queryset

    def search_condition(self, term: str, *, walked: bool = False) -> Q:
        """The rows that contain `term` in one of the searched fields (or their client's
        name): the same rows on either database.

        On PostgreSQL, one `pk IN (...)` over the ids whose text matches, read through
        the text table's trigram index, and the rows of the matching clients (a UNION
        ALL): a single semi-join that a rare term answers from the indexes, where a
        subquery inside an OR made PostgreSQL read every row of the table. A term
        `walked` (common in the table, clients/search.py) is tested on the records'
        own columns instead, row by row as the grid's order or the owner's rows are
        read, so the page is found without a bitmap of every match."""
        text = Q()
        for field in self.search_fields:
            text |= contains_condition(field, term, walked=walked)
        if walked or not searches_text_tables():
            if self.search_client_name:
                text |= self.client_name_condition(term)
            return text
        matching = self.search_text_model.objects.filter(text).order_by().values("pk")
        if self.search_client_name:
            model = self._meta.model
            of_clients = model.objects.filter(self.client_name_condition(term))
            matching = matching.union(of_clients.order_by().values("pk"), all=True)
        return Q(pk__in=matching)

    @staticmethod
    def client_name_condition(term: str) -> Q:
        """Rows whose client's name contains `term`.

        Up to CLIENT_ID_LIMIT matching clients are read first (one query, through
        the trigram index of the clients' searched text on PostgreSQL) and inlined
        as ids, so that the rows are read through the client index: a rare term then
        reads a few rows. More clients than that (a common name) stay a subquery,
        which PostgreSQL hashes once; so many rows match then that the scan soon has
        its page."""
        names = ClientSearch.objects if searches_text_tables() else Client.objects
        clients = names.filter(name__icontains=term).order_by().values("pk")
        client_ids = [row["pk"] for row in clients[: CLIENT_ID_LIMIT + 1]]
        if len(client_ids) > CLIENT_ID_LIMIT:
            return Q(client_id__in=clients)
        return Q(client_id__in=client_ids)

    def filter_moved(self, queryset, name, value):
        to = self.form.cleaned_data.get("to")
        return records_moved_by_transfer(
            queryset, transfer_id=value, to_user_id=getattr(to, "pk", None)
        )

    def filter_moved_to(self, queryset, name, value):
        return queryset  # a part of the transfer filter (filter_moved)

    def valid_value(self, name: str):
        """The value of filter `name` if the URL gave a valid one, else None."""
        if name not in self.filters or not self.is_bound:
            return None
        self.form.is_valid()  # runs the validation once; invalid fields are left out
        return self.form.cleaned_data.get(name)

    @property
    def owner_value(self) -> User | None:
        """The owner the grid is filtered by."""
        return self.valid_value("owner")

    def id_value(self, name: str) -> int | None:
        """The client or matter id the grid is filtered by."""
        return self.valid_value(name)


class ClientFilterSet(RecordFilterSet):
    status = django_filters.ChoiceFilter(
        label="Status", choices=Client.Status.choices, empty_label="Any status"
    )
    search_fields = ("number", "name")
    search_text_model = ClientSearch

    class Meta:
        model = Client
        fields = ["q", "owner", "status"]


class MatterFilterSet(RecordFilterSet):
    status = django_filters.ChoiceFilter(
        label="Status", choices=Matter.Status.choices, empty_label="Any status"
    )
    client = RecordIdFilter(field_name="client_id", widget=forms.HiddenInput)
    search_fields = ("number", "title")
    search_text_model = MatterSearch
    search_client_name = True

    class Meta:
        model = Matter
        fields = ["q", "owner", "status", "client"]


class CaseFilterSet(RecordFilterSet):
    status = django_filters.ChoiceFilter(
        label="Status", choices=Case.Status.choices, empty_label="Any status"
    )
    client = RecordIdFilter(field_name="client_id", widget=forms.HiddenInput)
    matter = RecordIdFilter(field_name="matter_id", widget=forms.HiddenInput)
    search_fields = ("number", "caption")
    search_text_model = CaseSearch
    search_client_name = True

    class Meta:
        model = Case
        fields = ["q", "owner", "status", "client", "matter"]


class DueWindow:
    """The due windows of the Deadlines grid (?due=overdue, 7, 14 or 30), by the
    firm's calendar: "next 7 days" is today and the 7 days after it; overdue is
    an open deadline due before today."""

    OVERDUE = "overdue"
    CHOICES = (
        (OVERDUE, "Overdue"),
        ("7", "Next 7 days"),
        ("14", "Next 14 days"),
        ("30", "Next 30 days"),
    )

    @classmethod
    def condition(cls, value: str, today: datetime.date | None = None) -> Q:
        today = today or timezone.localdate()
        if value == cls.OVERDUE:
            return Q(status=Deadline.Status.OPEN, due_date__lt=today)
        return Q(due_date__gte=today, due_date__lte=today + datetime.timedelta(days=int(value)))


# Deadlines whose owner can no longer act on them: suspended or inactive.
OWNERS_AWAY = "away"
OWNER_AWAY = Q(owner__is_active=False) | Q(owner__sign_in_suspended_at__isnull=False)


def stranded_deadlines_query() -> dict[str, str]:
    """The Deadlines grid's filters for the open deadlines of the next 30 days
    owned by users who are suspended or inactive: what nobody will attend to."""
    return {"owners": OWNERS_AWAY, "status": Deadline.Status.OPEN, "due": "30"}


def stranded_deadlines_count() -> int:
    return (
        Deadline.objects.filter(OWNER_AWAY, status=Deadline.Status.OPEN)
        .filter(DueWindow.condition("30"))
        .count()
    )


class DeadlineFilterSet(RecordFilterSet):
    kind = django_filters.ChoiceFilter(
        label="Kind", choices=Deadline.Kind.choices, empty_label="Any kind"
    )
    status = django_filters.ChoiceFilter(
        label="Status", choices=Deadline.Status.choices, empty_label="Any status"
    )
    due = django_filters.ChoiceFilter(
        label="Due", choices=DueWindow.CHOICES, empty_label="Any time", method="filter_due"
    )
    owners = django_filters.ChoiceFilter(
        label="Owners",
        choices=((OWNERS_AWAY, "Suspended or inactive"),),
        empty_label="Anyone",
        method="filter_owners",
    )
    client = RecordIdFilter(field_name="client_id", widget=forms.HiddenInput)
    matter = RecordIdFilter(field_name="matter_id", widget=forms.HiddenInput)
    case = RecordIdFilter(field_name="case_id", widget=forms.HiddenInput)
    search_fields = ("title",)
    search_text_model = DeadlineSearch
    search_client_name = True

    class Meta:
        model = Deadline
        fields = ["q", "owner", "owners", "kind", "status", "due", "client", "matter", "case"]

    def filter_due(self, queryset, name, value):
        return queryset.filter(DueWindow.condition(value))

    def filter_owners(self, queryset, name, value):
        return queryset.filter(OWNER_AWAY)
