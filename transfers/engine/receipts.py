"""Writing a receipt: the Transfer, its rows per new user and their totals,
the old user's deactivation or reactivation through the one function that may
set it, and the e-mails to the new owners once the transaction has committed."""

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import transaction

from clients.record_types import RecordCounts
from transfers.errors import FIELD_DEACTIVATE, TransferRefused
from transfers.models import Transfer, TransferRecipient
from transfers.receipts.notifications import transfer_notify_recipients
from users.models import User
from users.services import user_set_active


def receipt_totals_save(
    transfer: Transfer, recipients: Collection[TransferRecipient], *also: str
) -> None:
    """Write the receipt's rows per new user and its totals, their sums
    (`also`: more fields of the receipt to save with them)."""
    TransferRecipient.objects.bulk_create(recipients)
    total = RecordCounts()
    for recipient in recipients:
        total = total + recipient.record_counts
    transfer.counts = total.to_json()
    transfer.save(update_fields=["counts", *also])


def old_user_deactivate(*, user: User, acting_user: User, transfer_id: int) -> None:
    try:
        user_set_active(
            user=user, is_active=False, acting_user=acting_user, receipt_number=transfer_id
        )
    except ValidationError as error:
        raise TransferRefused(error.code, field=FIELD_DEACTIVATE, name=user.full_name) from error


def old_user_reactivate(*, user: User, acting_user: User, transfer_id: int) -> None:
    user_set_active(user=user, is_active=True, acting_user=acting_user, receipt_number=transfer_id)


def new_owners_notify_after_commit(transfer_id: int) -> None:
    """E-mail the new owners once the transaction has committed; a failing
    mail server is logged and does not undo the transfer."""

    def notify_new_owners() -> None:
        transfer_notify_recipients(transfer_id)

    transaction.on_commit(notify_new_owners, robust=True)
