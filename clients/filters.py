"""The grids' filters, read from the URL (q, owner, status, client).

A value that does not validate (an unknown owner, a status that does not
exist, text where an id belongs) is dropped by django-filter and the grid
shows everything else, with the field's error next to it: a normal page."""

import django_filters
from django import forms
from django.db.models import Q

from clients.models import Case, Client, Matter
from clients.selectors import records_moved_by_transfer
from users.models import User

SEARCH_MAX_LENGTH = 100
BIGINT_MAX = 2**63 - 1


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
    # Matters and cases also match on their client's name.
    search_client_name = False

    def filter_search(self, queryset, name, value):
        terms = value.split()
        # Every word must match one of the fields, so "Hoffmann Foods" finds "Hoffmann Foods 42".
        for term in terms[:5]:
            condition = Q()
            for field in self.search_fields:
                condition |= Q(**{f"{field}__icontains": term})
            if self.search_client_name:
                # A subquery, not a join: PostgreSQL hashes the few matching client
                # ids once instead of joining every case row to its client.
                condition |= Q(
                    client_id__in=Client.objects.filter(name__icontains=term).values("pk")
                )
            queryset = queryset.filter(condition)
        return queryset

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

    class Meta:
        model = Client
        fields = ["q", "owner", "status"]


class MatterFilterSet(RecordFilterSet):
    status = django_filters.ChoiceFilter(
        label="Status", choices=Matter.Status.choices, empty_label="Any status"
    )
    client = RecordIdFilter(field_name="client_id", widget=forms.HiddenInput)
    search_fields = ("number", "title")
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
    search_client_name = True

    class Meta:
        model = Case
        fields = ["q", "owner", "status", "client", "matter"]
