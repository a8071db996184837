"""The registry of owned record types (clients, matters, cases, deadlines and
any other registered with record_type_register), each described once.

Everything that goes over the kinds of owned records reads it: the access
rule, the grids, the admin, the transfer engine, its receipts and counts, the
workload of a user and the screens. Another owned record type is one call of
record_type_register beside its model (with its two share models and its
pages), in an app listed before `transfers`.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Model

from clients.models import (
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Client,
    ClientGroupObjectPermission,
    ClientUserObjectPermission,
    Deadline,
    DeadlineGroupObjectPermission,
    DeadlineUserObjectPermission,
    Matter,
    MatterGroupObjectPermission,
    MatterUserObjectPermission,
)


@dataclass(frozen=True)
class RecordType:
    """One owned record type.

    `name` is the model name ("case"); a receipt row of the record carries it
    as its record type, and one of its shares `share_name` ("case_share").
    `client_field` names the record's client ("id" for a client itself).
    """

    name: str
    label: str
    plural: str
    model: type[Model]
    user_share_model: type[Model]
    group_share_model: type[Model]
    client_field: str
    label_field: str
    url_name: str
    list_url_name: str
    # What a grid row shows besides the record, and what its page adds.
    row_related: tuple[str, ...] = ("owner",)
    page_related: tuple[str, ...] = ()

    @property
    def under_client(self) -> bool:
        """Whether the record belongs to a client (every type but the client itself)."""
        return self.client_field != "id"

    @property
    def share_name(self) -> str:
        return f"{self.name}_share"

    @property
    def share_label(self) -> str:
        return f"{self.label} share"

    @property
    def count_field(self) -> str:
        """The name of a count of these records (a user's workload, a receipt's totals)."""
        return f"{self.name}_count"

    def counted(self, count: int) -> str:
        """ "1 case", "3 cases"."""
        return f"{count} {self.name if count == 1 else self.plural}"

    @property
    def share_models(self) -> tuple[type[Model], type[Model]]:
        return (self.user_share_model, self.group_share_model)


# Outermost first: the order of a transfer's steps and of a receipt's rows.
RECORD_TYPES: list[RecordType] = []
RECORD_MODELS: list[type[Model]] = []
# Each record model's (user share model, group share model).
SHARE_MODELS: dict[type[Model], tuple[type[Model], type[Model]]] = {}
_BY_MODEL: dict[type[Model], RecordType] = {}


def record_type_register(record_type: RecordType) -> RecordType:
    """Add an owned record type (after those registered before it). Call it
    where the type's model is defined, from an app listed before `transfers`
    in INSTALLED_APPS: the receipts' choices and the engine's phases are read
    from the registry when their modules load."""
    if record_type.model in _BY_MODEL or any(t.name == record_type.name for t in RECORD_TYPES):
        raise ValueError(f"The record type {record_type.name!r} is registered already.")
    RECORD_TYPES.append(record_type)
    RECORD_MODELS.append(record_type.model)
    SHARE_MODELS[record_type.model] = record_type.share_models
    _BY_MODEL[record_type.model] = record_type
    return record_type


record_type_register(
    RecordType(
        name="client",
        label="Client",
        plural="clients",
        model=Client,
        user_share_model=ClientUserObjectPermission,
        group_share_model=ClientGroupObjectPermission,
        client_field="id",
        label_field="name",
        url_name="clients:client_detail",
        list_url_name="clients:client_list",
    )
)
record_type_register(
    RecordType(
        name="matter",
        label="Matter",
        plural="matters",
        model=Matter,
        user_share_model=MatterUserObjectPermission,
        group_share_model=MatterGroupObjectPermission,
        client_field="client",
        label_field="title",
        url_name="clients:matter_detail",
        list_url_name="clients:matter_list",
        row_related=("owner", "client"),
    )
)
record_type_register(
    RecordType(
        name="case",
        label="Case",
        plural="cases",
        model=Case,
        user_share_model=CaseUserObjectPermission,
        group_share_model=CaseGroupObjectPermission,
        client_field="client",
        label_field="caption",
        url_name="clients:case_detail",
        list_url_name="clients:case_list",
        row_related=("owner", "client"),
        page_related=("matter",),
    )
)
record_type_register(
    RecordType(
        name="deadline",
        label="Deadline",
        plural="deadlines",
        model=Deadline,
        user_share_model=DeadlineUserObjectPermission,
        group_share_model=DeadlineGroupObjectPermission,
        client_field="client",
        label_field="title",
        url_name="clients:deadline_detail",
        list_url_name="clients:deadline_list",
        row_related=("owner", "client", "matter", "case"),
        page_related=("matter", "case"),
    )
)


def record_type_of(model_or_record: type[Model] | Model) -> RecordType:
    """The record type of a model or of one of its records (KeyError for any other)."""
    model = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    return _BY_MODEL[model]


SHARES = "shares"


class RecordCounts(Mapping[str, int]):
    """How many records of each owned type (keyed by RecordType.name, in the
    registry's order) and how many shares: a user's workload, what a transfer
    moved, what a job has moved so far. Stored as JSON ({"client": 2, ...,
    "shares": 1}) on the receipts, so another record type needs no column."""

    __slots__ = ("_counts", "shares")

    def __init__(self, counts: Mapping[str, int] | None = None, *, shares: int = 0) -> None:
        counts = counts or {}
        self._counts = {t.name: int(counts.get(t.name, 0) or 0) for t in RECORD_TYPES}
        self.shares = int(shares or 0)

    @classmethod
    def from_json(cls, data: Mapping[str, int] | None) -> "RecordCounts":
        data = data or {}
        return cls(data, shares=data.get(SHARES, 0))

    @classmethod
    def annotated(cls, row: object) -> "RecordCounts":
        """The counts annotated on a row as `<type>_count` (users.selectors.with_workload)."""
        return cls({t.name: getattr(row, t.count_field, 0) for t in RECORD_TYPES})

    def to_json(self) -> dict[str, int]:
        return {**self._counts, SHARES: self.shares}

    def __getitem__(self, name: str) -> int:
        if name == SHARES:
            return self.shares
        return self._counts[name]

    def __iter__(self):
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __add__(self, other: "RecordCounts") -> "RecordCounts":
        return RecordCounts(
            {name: count + other[name] for name, count in self._counts.items()},
            shares=self.shares + other.shares,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordCounts):
            return self.to_json() == other.to_json()
        return NotImplemented

    def __repr__(self) -> str:
        return f"RecordCounts({self.to_json()!r})"

    def added(self, name: str, count: int) -> "RecordCounts":
        """These counts with `count` more of record type `name` (or SHARES)."""
        data = self.to_json()
        data[name] += count
        return RecordCounts.from_json(data)

    @property
    def records(self) -> int:
        return sum(self._counts.values())

    @property
    def total(self) -> int:
        return self.records + self.shares

    def phrases(self, *, zeros: bool = True, shares: bool = True) -> list[str]:
        """["2 clients", "1 matter", "0 cases", "1 share"]: every record type (or
        only those counted, without `zeros`), then the shares when there are any."""
        parts = [t.counted(count) for t, count in self.by_type() if zeros or count]
        if shares and self.shares:
            parts.append(f"{self.shares} share{'' if self.shares == 1 else 's'}")
        return parts

    def by_type(self) -> list[tuple[RecordType, int]]:
        """(record type, count) in the registry's order, for the screens."""
        return [(t, self._counts[t.name]) for t in RECORD_TYPES]
