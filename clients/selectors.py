"""Reads for the grids and record pages: what a user may see, a record's shares,
and a record's ownership history (read by the app that keeps it, see
`ownership_history_reader_register`)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Model, QuerySet

from clients.access import records_for_user
from clients.record_types import SHARE_MODELS, record_type_of

# Related rows a record page lists; more than this and the page links to the filtered grid.
RELATED_LIMIT = 25
SHARE_LIMIT = 100
HISTORY_LIMIT = 100


def visible_records(*, user, model: type[Model]) -> QuerySet:
    """The records of `model` that `user` may see, with what a grid row shows."""
    return records_for_user(user, model).select_related(*record_type_of(model).row_related)


def visible_record_get(*, user, model: type[Model], pk: int) -> Model | None:
    """One record if `user` may see it; None both when it is missing and when it is hidden."""
    queryset = visible_records(user=user, model=model)
    page_related = record_type_of(model).page_related
    if page_related:
        queryset = queryset.select_related(*page_related)
    return queryset.filter(pk=pk).first()


@dataclass(frozen=True)
class Share:
    holder: str  # the user's full name or the group's name
    is_group: bool
    permission: str
    holder_is_active: bool = True


def record_shares(*, record: Model, limit: int = SHARE_LIMIT) -> list[Share]:
    """The explicit guardian shares on `record`, users first; two queries."""
    user_model, group_model = SHARE_MODELS[type(record)]
    shares = [
        Share(
            holder=row.user.full_name,
            is_group=False,
            permission=row.permission.name,
            holder_is_active=row.user.is_active,
        )
        for row in user_model.objects.filter(content_object_id=record.pk)
        .select_related("user", "permission")
        .order_by("user__first_name", "user__last_name", "user_id", "permission__codename")[:limit]
    ]
    shares += [
        Share(holder=row.group.name, is_group=True, permission=row.permission.name)
        for row in group_model.objects.filter(content_object_id=record.pk)
        .select_related("group", "permission")
        .order_by("group__name", "permission__codename")[:limit]
    ]
    return shares


@dataclass(frozen=True)
class OwnershipEvent:
    transfer_id: int
    happened_at: datetime
    from_name: str
    to_name: str
    actor_name: str
    is_share: bool
    permission: str
    is_revert: bool
    receipt_url: str | None
    is_owner_change: bool = False  # one record given to another owner outside a transfer
    # A share of from_name's revoked by a deactivating transfer, or given back to
    # to_name by its revert.
    share_revoked: bool = False


HistoryReader = Callable[..., list[OwnershipEvent]]
_history_reader: HistoryReader | None = None


def ownership_history_reader_register(reader: HistoryReader) -> None:
    """Let `reader(record=..., limit=...)` tell a record's ownership history.

    The history is kept by an app above this one (transfers, in its receipts),
    which registers its reader when it is ready."""
    global _history_reader
    _history_reader = reader


def record_ownership_history(*, record: Model, limit: int = HISTORY_LIMIT) -> list[OwnershipEvent]:
    """Every change of owner of `record` (and of a share on it), newest first;
    empty when no app keeps the history."""
    if _history_reader is None:
        return []
    return _history_reader(record=record, limit=limit)


MovedRecordsReader = Callable[..., QuerySet]
_moved_records_reader: MovedRecordsReader | None = None


def moved_records_reader_register(reader: MovedRecordsReader) -> None:
    """Let `reader(model=..., transfer_id=..., to_user_id=...)` give the ids of
    the records of `model` a transfer moved (to one user, when given), as a
    values queryset.

    The receipts are kept by an app above this one (transfers), which
    registers its reader when it is ready."""
    global _moved_records_reader
    _moved_records_reader = reader


def records_moved_by_transfer(
    queryset: QuerySet, *, transfer_id: int, to_user_id: int | None = None
) -> QuerySet:
    """`queryset` narrowed to the records transfer #`transfer_id` moved (to
    `to_user_id`, when given); none when no app keeps receipts."""
    if _moved_records_reader is None:
        return queryset.none()
    moved = _moved_records_reader(
        model=queryset.model, transfer_id=transfer_id, to_user_id=to_user_id
    )
    return queryset.filter(pk__in=moved)


def related_records(*, user, model: type[Model], limit: int | None = None, **filters):
    """Up to `limit` visible records of `model` matching `filters`, and whether there are more.

    Reads limit + 1 rows instead of counting, so a client with 10,000 cases costs
    the same as one with 10."""
    limit = limit or RELATED_LIMIT
    rows = list(visible_records(user=user, model=model).filter(**filters)[: limit + 1])
    return rows[:limit], len(rows) > limit
