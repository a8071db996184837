"""The e-mail to the administrator who scheduled a transfer that was refused
when its time came."""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from transfers.models import TransferJob

logger = logging.getLogger(__name__)


def scheduled_refusal_notify(*, job: TransferJob) -> bool:
    """E-mail `job`'s actor why their scheduled transfer was refused. False
    when they have no address."""
    actor = job.actor
    if actor is None or not actor.email:
        return False
    context = {
        "job": job,
        "page_url": getattr(settings, "SITE_URL", "").rstrip("/") + job.get_absolute_url(),
    }
    subject = " ".join(render_to_string("transfers/scheduled_refused_subject.txt", context).split())
    body = render_to_string("transfers/scheduled_refused_body.txt", context)
    EmailMessage(subject=subject, body=body, to=[actor.email]).send()
    logger.info("Transfer job #%s refused at its time: told %s", job.pk, actor.email)
    return True
