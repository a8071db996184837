"""Owner changes made outside a transfer, recorded as receipts.

One model serves every change of owner: an owner change in the admin (or any
caller of clients.services.record_owner_change) is a Transfer of mode
OWNER_CHANGE with one recipient and one TransferredRecord row, written in
the transaction of the change. A record's "Ownership history", Transfer
History, the user page and Revert read it like any other receipt.
"""

from django.utils import timezone

from clients.record_types import RecordCounts, record_type_of
from transfers.models import Transfer, TransferRecipient, TransferredRecord


def owner_change_receipt(
    sender, *, record, old_owner, new_owner, acting_user, changed_at=None, **kwargs
) -> Transfer:
    """Receiver of clients.signals.owner_changed: write the receipt."""
    record_type = record_type_of(sender)
    counts = RecordCounts({record_type.name: 1}).to_json()
    transfer = Transfer.objects.create(
        created_at=changed_at or timezone.now(),
        mode=Transfer.Mode.OWNER_CHANGE,
        actor=acting_user,
        actor_name=acting_user.full_name if acting_user is not None else "",
        from_user=old_owner,
        from_user_name=old_owner.full_name if old_owner is not None else "",
        counts=counts,
    )
    TransferRecipient.objects.create(
        transfer=transfer, to_user=new_owner, to_user_name=new_owner.full_name, counts=counts
    )
    TransferredRecord.objects.create(
        transfer=transfer,
        record_type=record_type.name,
        record_id=record.pk,
        from_user=old_owner,
        to_user=new_owner,
    )
    return transfer
