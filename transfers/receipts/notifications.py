"""Emails about transfers, sent after the transaction commits."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.urls import NoReverseMatch

from transfers.models import Transfer

logger = logging.getLogger(__name__)


def _receipt_url(transfer: Transfer) -> str:
    try:
        path = transfer.get_absolute_url()
    except NoReverseMatch:
        return ""
    return getattr(settings, "SITE_URL", "").rstrip("/") + path


def transfer_notify_recipients(transfer_id: int) -> int:
    """Email each new owner of `transfer_id` a summary of what they received.

    Recipients without an email address, or who received nothing, are
    skipped. Returns the number of emails sent.
    """
    transfer = Transfer.objects.filter(pk=transfer_id).first()
    if transfer is None:
        return 0
    receipt_url = _receipt_url(transfer)
    messages = []
    for recipient in transfer.recipients.select_related("to_user"):
        user = recipient.to_user
        if user is None or not user.email or not recipient.record_counts.total:
            continue
        context = {
            "transfer": transfer,
            "recipient": recipient,
            "user": user,
            "receipt_url": receipt_url,
        }
        subject = " ".join(render_to_string("transfers/email_subject.txt", context).split())
        body = render_to_string("transfers/email_body.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if not messages:
        return 0
    sent = get_connection().send_messages(messages) or 0
    logger.info("Transfer #%s: emailed %s new owner(s)", transfer.pk, sent)
    return sent
