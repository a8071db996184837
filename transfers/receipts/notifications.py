"""Emails about transfers, sent after the transaction commits."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from clients.record_types import RecordType
from transfers.models import Transfer, TransferRecipient
from transfers.receipts.due_soon import (
    DUE_SOON_DAYS,
    DueSoonList,
    all_open_received_url,
    deadlines_due_soon,
)
from users.models import ACCESS_SETTINGS_PERMISSION

logger = logging.getLogger(__name__)


# A recipient opens the receipt only with both, as on the record pages.
RECEIPT_PERMISSIONS = (ACCESS_SETTINGS_PERMISSION, "transfers.view_transfer")


def absolute_url(path: str) -> str:
    """An address a mail client can follow: SITE_URL and the path."""
    return settings.SITE_URL.rstrip("/") + path


def _receipt_url(transfer: Transfer) -> str:
    try:
        return absolute_url(transfer.get_absolute_url())
    except NoReverseMatch:
        return ""


def received_records_links(
    transfer: Transfer, recipient: TransferRecipient
) -> list[tuple[RecordType, str]]:
    """ "Your records from transfer #N": for each record type `recipient`
    received in `transfer`, the grid filtered to exactly those records, as an
    absolute address."""
    query = urlencode({"transfer": transfer.pk, "to": recipient.to_user_id})
    return [
        (record_type, absolute_url(f"{reverse(record_type.list_url_name)}?{query}"))
        for record_type, count in recipient.record_counts.by_type()
        if count
    ]


def transfer_notify_recipients(transfer_id: int) -> int:
    """Email each new owner of `transfer_id` a summary of what they received.

    Recipients without an email address, or who received nothing, are
    skipped. Returns the number of emails sent.
    """
    transfer = Transfer.objects.filter(pk=transfer_id).first()
    if transfer is None:
        return 0
    receipt_url = _receipt_url(transfer)
    due_soon = deadlines_due_soon(transfer=transfer)
    messages = []
    for recipient in transfer.recipients.select_related("to_user"):
        user = recipient.to_user
        if user is None or not user.email or not recipient.record_counts.total:
            continue
        context = {
            "transfer": transfer,
            "recipient": recipient,
            "user": user,
            # A link the recipient could not open is no help: only for those who may.
            "receipt_url": receipt_url
            if all(user.has_perm(permission) for permission in RECEIPT_PERMISSIONS)
            else "",
            "received_links": received_records_links(transfer, recipient),
            "due_soon": [
                (item, absolute_url(item.deadline.get_absolute_url()))
                for item in due_soon.get(user.pk, DueSoonList())
            ],
            "due_soon_more": due_soon.get(user.pk, DueSoonList()).more,
            "all_open_url": absolute_url(all_open_received_url(transfer, user.pk)),
            "due_soon_days": DUE_SOON_DAYS,
        }
        subject = " ".join(render_to_string("transfers/email_subject.txt", context).split())
        body = render_to_string("transfers/email_body.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if not messages:
        return 0
    sent = get_connection().send_messages(messages) or 0
    logger.info("Transfer #%s: emailed %s new owner(s)", transfer.pk, sent)
    return sent
