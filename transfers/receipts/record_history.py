"""A record's ownership history, read from the transfer receipts.

Registered as the clients app's history reader (TransfersConfig.ready), so a
record page shows every transfer, revert and owner change that moved the
record or a share on it, while the clients app knows nothing of receipts."""

from django.db.models import Model
from django.urls import reverse

from clients.record_types import record_type_of
from clients.selectors import HISTORY_LIMIT, OwnershipEvent
from transfers.models import Transfer, TransferRecipient, TransferredRecord


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
    record_type = record_type_of(record)
    rows = (
        TransferredRecord.objects.filter(
            record_type__in=[record_type.name, record_type.share_name], record_id=record.pk
        )
        .select_related("transfer", "from_user", "to_user", "permission")
        .order_by("-transfer__created_at", "-transfer_id", "record_type", "pk")[:limit]
    )
    rows = list(rows)
    deleted_recipient_names = _deleted_recipient_names(
        {row.transfer_id for row in rows if row.to_user_id is None and not row.share_revoked}
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
                is_share=row.record_type == record_type.share_name,
                permission=row.permission.name if row.permission is not None else "",
                is_revert=transfer.mode == Transfer.Mode.REVERT,
                receipt_url=reverse("transfers:transfer_detail", kwargs={"pk": transfer.pk}),
                is_owner_change=transfer.mode == Transfer.Mode.OWNER_CHANGE,
                share_revoked=row.share_revoked,
            )
        )
    return events
