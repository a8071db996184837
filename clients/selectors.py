"""Reads for the grids and record pages: what a user may see, a record's shares,
and a record's ownership history from the transfer receipts."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Model, Q, QuerySet
from django.urls import NoReverseMatch, reverse

from clients.access import permission_name, records_for_user
from clients.models import Case, Client, Matter
from clients.record_types import SHARE_MODELS, record_type_of
from transfers.models import Transfer, TransferRecipient, TransferredRecord

RECORD_TYPES: dict[type[Model], tuple[str, str]] = {
    Client: (TransferredRecord.RecordType.CLIENT, TransferredRecord.RecordType.CLIENT_SHARE),
    Matter: (TransferredRecord.RecordType.MATTER, TransferredRecord.RecordType.MATTER_SHARE),
    Case: (TransferredRecord.RecordType.CASE, TransferredRecord.RecordType.CASE_SHARE),
}
# Related rows a record page lists; more than this and the page links to the filtered grid.
RELATED_LIMIT = 25
SHARE_LIMIT = 100
HISTORY_LIMIT = 100
# Up to this many shared records are inlined as ids; beyond it the grid uses the
# access rule's EXISTS form as it is.
SHARE_ID_LIMIT = 1000


def _visible(user, model: type[Model]) -> QuerySet:
    """clients.access.records_for_user, in a form PostgreSQL can answer from indexes.

    records_for_user says "owner is me OR EXISTS (a share)"; with an OR around
    correlated EXISTS the planner scans every row (a second per page over 2.5
    million cases). The user's shared ids are few, so they are read first (one
    query) and the grid asks "owner_id = me OR id IN (those ids)", which is a
    BitmapOr of two index scans. Same rule, same rows."""
    if not user.is_authenticated or not user.is_active:
        return model.objects.none()
    if user.has_perm(permission_name(model, "view")):
        return model.objects.all()
    user_model, group_model = SHARE_MODELS[model]
    codename = f"view_{model._meta.model_name}"
    shared = (
        user_model.objects.filter(user_id=user.pk, permission__codename=codename)
        .values_list("content_object_id", flat=True)
        .order_by()
        .union(
            group_model.objects.filter(group__user=user.pk, permission__codename=codename)
            .values_list("content_object_id", flat=True)
            .order_by()
        )
    )
    shared_ids = list(shared[: SHARE_ID_LIMIT + 1])
    if len(shared_ids) > SHARE_ID_LIMIT:
        return records_for_user(user, model)
    return model.objects.filter(Q(owner_id=user.pk) | Q(pk__in=shared_ids))


def visible_records(*, user, model: type[Model]) -> QuerySet:
    """The records of `model` that `user` may see, with what a grid row shows."""
    return _visible(user, model).select_related(*record_type_of(model).row_related)


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


def _receipt_url(transfer_id: int) -> str | None:
    try:
        return reverse("transfers:transfer_detail", kwargs={"pk": transfer_id})
    except NoReverseMatch:  # the receipt page is not installed
        return None


def _deleted_recipient_names(transfer_ids: set[int]) -> dict[int, str]:
    """The name snapshot of the deleted recipient of each transfer, where the
    transfer had exactly one recipient who has been deleted since (otherwise
    which of them received the record is no longer known). No query when no
    recipient was deleted."""
    if not transfer_ids:
        return {}
    names: dict[int, list[str]] = {}
    for transfer_id, name in TransferRecipient.objects.filter(
        transfer_id__in=transfer_ids, to_user__isnull=True
    ).values_list("transfer_id", "to_user_name"):
        names.setdefault(transfer_id, []).append(name)
    return {
        transfer_id: f"{found[0]} (deleted since)"
        for transfer_id, found in names.items()
        if len(found) == 1
    }


def record_ownership_history(*, record: Model, limit: int = HISTORY_LIMIT) -> list[OwnershipEvent]:
    """Every transfer and every owner change outside a transfer (the admin,
    record_owner_change: receipts of mode OWNER_CHANGE) that moved `record`
    (or a share on it), newest first; one query.

    Names come from the users when they still exist and from the receipt's text
    snapshots when they were deleted since."""
    record_type, share_type = RECORD_TYPES[type(record)]
    rows = (
        TransferredRecord.objects.filter(
            record_type__in=[record_type, share_type], record_id=record.pk
        )
        .select_related("transfer", "from_user", "to_user", "permission")
        .order_by("-transfer__created_at", "-transfer_id", "record_type", "pk")[:limit]
    )
    rows = list(rows)
    deleted_recipient_names = _deleted_recipient_names(
        {row.transfer_id for row in rows if row.to_user_id is None}
    )
    events = []
    for row in rows:
        transfer = row.transfer
        if row.from_user is not None:
            from_name = row.from_user.full_name
        else:
            from_name = transfer.from_user_name or "a deleted user"
        if row.to_user is not None:
            to_name = row.to_user.full_name
        else:
            to_name = deleted_recipient_names.get(transfer.pk, "a deleted user")
        events.append(
            OwnershipEvent(
                transfer_id=transfer.pk,
                happened_at=transfer.created_at,
                from_name=from_name,
                to_name=to_name,
                actor_name=transfer.actor_name or "an unknown user",
                is_share=row.record_type == share_type,
                permission=row.permission.name if row.permission is not None else "",
                is_revert=transfer.mode == Transfer.Mode.REVERT,
                receipt_url=_receipt_url(transfer.pk),
                is_owner_change=transfer.mode == Transfer.Mode.OWNER_CHANGE,
            )
        )
    return events


def related_records(*, user, model: type[Model], limit: int | None = None, **filters):
    """Up to `limit` visible records of `model` matching `filters`, and whether there are more.

    Reads limit + 1 rows instead of counting, so a client with 10,000 cases costs
    the same as one with 10."""
    limit = limit or RELATED_LIMIT
    rows = list(visible_records(user=user, model=model).filter(**filters)[: limit + 1])
    return rows[:limit], len(rows) > limit
