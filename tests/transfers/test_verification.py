"""What a paralegal verifying a transfer reads: times in the firm's zone, the
admin's name, and the receipt's words and links."""

import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.urls import reverse

from transfers.models import Transfer

pytestmark = pytest.mark.django_db

NOON_UTC = datetime(2026, 1, 15, 12, 0, 5, tzinfo=UTC)


def all_url(user) -> str:
    return reverse("transfers:transfer_all", args=[user.pk])


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def transfer_at_noon(admin_http, leaver_firm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_http.post(
            all_url(leaver_firm.leaver),
            {"new_user": leaver_firm.dana.pk, "request_key": uuid.uuid4()},
        )
    transfer = Transfer.objects.get()
    Transfer.objects.filter(pk=transfer.pk).update(created_at=NOON_UTC)
    transfer.refresh_from_db()
    return transfer


def test_every_timestamp_is_in_the_firms_zone_with_the_zone_shown(
    berlin, admin_http, transfer_at_noon, leaver_firm
):
    receipt = admin_http.get(transfer_at_noon.get_absolute_url()).content.decode()
    assert "15 Jan 2026, 13:00:05 CET</time>" in receipt
    history = admin_http.get(reverse("transfers:transfer_list")).content.decode()
    assert "15 Jan 2026, 13:00 CET</time>" in history
    user_page = admin_http.get(
        reverse("transfers:user_page", args=[leaver_firm.leaver.pk])
    ).content.decode()
    assert "15 Jan 2026, 13:00 CET</time>" in user_page
    record = admin_http.get(leaver_firm.acme.get_absolute_url()).content.decode()
    assert "15 Jan 2026, 13:00 CET</time>" in record  # its ownership history
    assert " UTC</time>" not in record  # created and changed too


def test_the_new_owners_email_gives_the_time_in_the_firms_zone(berlin, transfer_at_noon):
    from transfers.notifications import transfer_notify_recipients

    mail.outbox.clear()
    transfer_notify_recipients(transfer_at_noon.pk)
    (message,) = mail.outbox
    assert "15 Jan 2026, 13:00 CET" in message.body


def test_summer_time_is_named_as_such(settings):
    from users.templatetags.firm_time import firm_time_text

    settings.TIME_ZONE = "Europe/Berlin"
    assert firm_time_text(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "1 Jul 2026, 14:00 CEST"
    settings.TIME_ZONE = "America/New_York"
    assert firm_time_text(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)) == "15 Jan 2026, 07:00 EST"


def test_the_admin_is_branded(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "CaseEngine administration" in html
    assert "Django administration" not in html
