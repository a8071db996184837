"""The owned record types (clients, matters, cases and deadlines), each described once.

Every table of "record type ↔ model ↔ share models ↔ page" reads this
registry: the access rule, the grids, the admin, the transfer engine and its
receipts. Another owned record type is one more entry here (with its model,
its two share models and its pages).
"""

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

    @property
    def share_models(self) -> tuple[type[Model], type[Model]]:
        return (self.user_share_model, self.group_share_model)


# Outermost first: the order of a transfer's steps and of a receipt's rows. The types
# the transfer engine moves and counts.
RECORD_TYPES: tuple[RecordType, ...] = (
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
    ),
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
        row_related=("owner", "client"),
    ),
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
        row_related=("owner", "client"),
        page_related=("matter",),
    ),
)

# Deadlines are owned, shared, listed and recorded like the others, but the transfer
# engine, its screens and the workload counts (everything that reads RECORD_TYPES) do
# not carry them yet: they join RECORD_TYPES when those read counts keyed by record type.
DEADLINE = RecordType(
    name="deadline",
    label="Deadline",
    plural="deadlines",
    model=Deadline,
    user_share_model=DeadlineUserObjectPermission,
    group_share_model=DeadlineGroupObjectPermission,
    client_field="client",
    label_field="title",
    url_name="clients:deadline_detail",
    row_related=("owner", "client", "matter", "case"),
    page_related=("matter", "case"),
)

# Every owned record type: the access rule, shares, the admin, the services, the
# record pages and the receipts' record types.
OWNED_RECORD_TYPES: tuple[RecordType, ...] = (*RECORD_TYPES, DEADLINE)

RECORD_MODELS: tuple[type[Model], ...] = tuple(
    record_type.model for record_type in OWNED_RECORD_TYPES
)
# Each record model's (user share model, group share model).
SHARE_MODELS: dict[type[Model], tuple[type[Model], type[Model]]] = {
    record_type.model: record_type.share_models for record_type in OWNED_RECORD_TYPES
}
_BY_MODEL = {record_type.model: record_type for record_type in OWNED_RECORD_TYPES}
_BY_NAME = {record_type.name: record_type for record_type in OWNED_RECORD_TYPES}


def record_type_of(model_or_record: type[Model] | Model) -> RecordType:
    """The record type of a model or of one of its records (KeyError for any other)."""
    model = model_or_record if isinstance(model_or_record, type) else type(model_or_record)
    return _BY_MODEL[model]


def record_type_named(name: str) -> RecordType:
    """The record type called `name` ("client", "matter", "case", "deadline"; KeyError
    for any other)."""
    return _BY_NAME[name]
