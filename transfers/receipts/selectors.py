"""Reads of receipts: a transfer's rows with their records, what changed
since, what a revert left alone, whether a transfer can still be reverted,
and Transfer History."""

from django.db.models import (
    Case,
    CharField,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from clients.models import OWNER_ERRORS
from clients.record_types import RECORD_TYPES
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.selectors import allowed_owners

# Display order of the receipt: records before shares, outermost first.
RECEIPT_ROW_ORDER = [record_type.name for record_type in RECORD_TYPES] + [
    record_type.share_name for record_type in RECORD_TYPES
]


def count_subquery(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY)."""
    # COUNT(*) rather than COUNT(id): PostgreSQL can then answer from the
    # owner index alone instead of visiting every row of a large owner.
    # Without GROUP BY, COUNT(*) gives one row, 0 when nothing matches: never NULL.
    counted = (
        queryset.order_by()
        .annotate(
            total=Func(
                template="COUNT(*)",  # pragma: no mutate (SQL's keywords are case-blind)
                output_field=IntegerField(),
            )
        )
        .values("total")
    )
    return Subquery(counted)


def _record_field(field_of) -> Case:
    """The value of `field_of(record type)` on each receipt row's record (or
    shared record); empty when it has been deleted since, or when its type has
    no such field."""
    whens = []
    for record_type in RECORD_TYPES:
        field = field_of(record_type)
        if field is None:  # a type without such a field
            continue
        # No row (the record was deleted since) is NULL: empty, as the screens show it.
        value = Coalesce(
            Subquery(record_type.model.objects.filter(pk=OuterRef("record_id")).values(field)),
            Value(""),
        )
        for receipt_type in (record_type.name, record_type.share_name):
            whens.append(When(record_type=receipt_type, then=value))
    return Case(
        *whens,
        default=Value(""),
        output_field=CharField(),  # pragma: no mutate (every such field is text: inferred alike)
    )


def _current_owner() -> Case:
    whens = [
        When(
            record_type=record_type.name,
            then=Subquery(
                record_type.model.objects.filter(pk=OuterRef("record_id")).values("owner_id")
            ),
        )
        for record_type in RECORD_TYPES
    ]
    # NULL for a share's row, or a record deleted since.
    return Case(
        *whens,
        output_field=IntegerField(),  # pragma: no mutate (owners are integers: inferred alike)
    )


def transfer_records(
    *, transfer: Transfer, record_type: str | None = None, share_revoked: bool | None = None
) -> QuerySet:
    """The rows of a receipt, clients first, then matters, cases and shares
    (only the shares revoked, or given back, with `share_revoked`; none of them
    with `share_revoked=False`).

    Each row is annotated with `record_number` and `record_label` (empty
    when the record has been deleted since) and, for clients, matters and
    cases, `current_owner_id`.
    """
    rows = TransferredRecord.objects.filter(transfer=transfer)
    if record_type:
        rows = rows.filter(record_type=record_type)
    if share_revoked is not None:
        rows = rows.filter(share_revoked=share_revoked)
    type_order = Case(
        *[When(record_type=value, then=Value(i)) for i, value in enumerate(RECEIPT_ROW_ORDER)],
        output_field=IntegerField(),
    )
    return (
        rows.select_related("from_user", "to_user", "permission")
        .annotate(
            type_order=type_order,
            record_number=_record_field(lambda record_type: record_type.number_field),
            record_label=_record_field(lambda record_type: record_type.label_field),
            current_owner_id=_current_owner(),
        )
        .order_by("type_order", "record_id", "pk")
    )


def _still_with_receiver_q() -> Q:
    """Receipt rows whose record (or share) is still with the user it went to."""
    q = Q()
    for record_type in RECORD_TYPES:
        q |= Q(record_type=record_type.name) & Q(
            Exists(
                record_type.model.objects.filter(
                    pk=OuterRef("record_id"), owner_id=OuterRef("to_user_id")
                )
            )
        )
    for record_type in RECORD_TYPES:
        q |= Q(record_type=record_type.share_name, share_revoked=False) & Q(
            Exists(
                record_type.user_share_model.objects.filter(
                    content_object_id=OuterRef("record_id"),
                    permission_id=OuterRef("permission_id"),
                    user_id=OuterRef("to_user_id"),
                )
            )
        )
        # A revoked share can be given back as long as its record exists.
        q |= Q(record_type=record_type.share_name, share_revoked=True) & Q(
            Exists(record_type.model.objects.filter(pk=OuterRef("record_id")))
        )
    return q


def transfer_changed_since(*, transfer: Transfer) -> QuerySet:
    """Receipt rows of `transfer` whose record (or share) is no longer with the
    user it went to: what a revert would leave alone. Live: it follows later
    changes."""
    return transfer_records(transfer=transfer).exclude(_still_with_receiver_q())


def revert_skipped_records(*, revert: Transfer) -> QuerySet:
    """For a revert: the rows of the reverted transfer it left alone because
    they had changed since. Fixed at the time of the revert (the revert's own
    rows say what moved back)."""
    if revert.reverted_transfer_id is None:
        return TransferredRecord.objects.none()
    moved_back = TransferredRecord.objects.filter(
        transfer_id=revert.pk,
        record_type=OuterRef("record_type"),
        record_id=OuterRef("record_id"),
    )
    is_share = Q(record_type__in=[record_type.share_name for record_type in RECORD_TYPES])
    return transfer_records(transfer=revert.reverted_transfer).exclude(
        is_share & Q(Exists(moved_back.filter(permission_id=OuterRef("permission_id"))))
        | ~is_share & Q(Exists(moved_back))
    )


def _is_reverted(transfer: Transfer) -> Transfer | None:
    return Transfer.objects.filter(reverted_transfer_id=transfer.pk).first()


def transfer_revert_refusal(
    *, transfer: Transfer, acting_user: User | None = None
) -> TransferRefused | None:
    """Why `transfer` cannot be reverted now, or None when it can.

    revert_not_allowed: already reverted, or a user it took records from has
    been deleted. revert_conflict: the records would return to someone who
    can no longer own them (inactive without this revert reactivating them,
    sign-in suspended, or no longer allowed to own records).
    """
    if acting_user is not None and not acting_user.has_perm(TRANSFER_RECORDS_PERMISSION):
        return TransferRefused("permission_denied")
    revert = _is_reverted(transfer)
    if revert is not None:
        return TransferRefused(
            "revert_not_allowed",
            reason=f"it was already reverted by transfer #{revert.pk}.",
        )
    # A revert's rows of the shares it gave back came from nobody.
    targets = set(
        transfer.records.filter(share_revoked=False)
        .order_by()
        .values_list("from_user_id", flat=True)
        .distinct()
    )
    if transfer.from_user_id is None or None in targets:
        return TransferRefused(
            "revert_not_allowed",
            reason="a user the records came from has been deleted since.",
        )
    targets.add(transfer.from_user_id)
    reactivated = transfer.from_user_id if transfer.deactivated_from_user else None
    for user in User.objects.filter(pk__in=targets).order_by("pk"):
        if not user.is_active and user.pk != reactivated:
            return TransferRefused(
                "revert_conflict",
                reason=OWNER_ERRORS["owner_inactive"].format(name=user.full_name),
            )
    for user in User.objects.filter(pk__in=targets, sign_in_suspended_at__isnull=False):
        return TransferRefused(
            "revert_conflict",
            reason=OWNER_ERRORS["owner_suspended"].format(name=user.full_name)
            + " Restore their sign-in first.",
        )
    # Active or not: the revert may reactivate the old user.
    eligible = set(allowed_owners(User.objects.filter(pk__in=targets)).values_list("pk", flat=True))
    for user in User.objects.filter(pk__in=targets - eligible).order_by("pk"):
        return TransferRefused(
            "revert_conflict",
            reason=OWNER_ERRORS["owner_ineligible"].format(name=user.full_name),
        )
    return None


def transfer_list(*, search: str = "") -> QuerySet[Transfer]:
    """Transfer History, newest first; `search` matches the actor's, the old
    user's and any new user's name (as recorded at the time)."""
    transfers = Transfer.objects.select_related("reverted_transfer").annotate(
        recipient_count=count_subquery(
            TransferRecipient.objects.filter(transfer_id=OuterRef("pk"))
        ),
        is_reverted=Exists(Transfer.objects.filter(reverted_transfer_id=OuterRef("pk"))),
    )
    search = search.strip()
    if search:
        transfers = transfers.filter(
            Q(actor_name__icontains=search)
            | Q(from_user_name__icontains=search)
            | Q(
                Exists(
                    TransferRecipient.objects.filter(
                        transfer_id=OuterRef("pk"), to_user_name__icontains=search
                    )
                )
            )
        )
    return transfers.order_by("-created_at", "-pk")
