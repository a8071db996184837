"""What a paralegal verifying a transfer reads: times in the firm's zone, the
admin's name, and the receipt's words and links."""

import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from transfers.models import Transfer
from users import groups

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
    from transfers.receipts.notifications import transfer_notify_recipients

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


# --- "Moved by transfer #N" on every grid ----------------------------------------


def grid_count(http, name: str, **query) -> tuple[int, str]:
    response = http.get(reverse(f"clients:{name}"), query)
    assert response.status_code == 200
    return response.context["table"].paginator.count, response.context["scope"]


def test_each_count_on_the_receipt_is_what_the_grid_shows(admin_http, leaver_firm):

    marcus, dana = leaver_firm.marcus, leaver_firm.dana
    acme, bolt, crane = leaver_firm.acme, leaver_firm.bolt, leaver_firm.crane
    admin_http.post(
        reverse("transfers:transfer_per_client", args=[leaver_firm.leaver.pk]),
        {
            "client_ids": ",".join(str(c.pk) for c in sorted([acme, bolt, crane], key=str)),
            f"client-{acme.pk}": str(dana.pk),
            f"client-{bolt.pk}": str(marcus.pk),
            f"client-{crane.pk}": str(marcus.pk),
            "request_key": uuid.uuid4(),
        },
    )
    transfer = Transfer.objects.get()
    for recipient in transfer.recipients.all():
        for name in ("client", "matter", "case", "deadline"):
            count, scope = grid_count(
                admin_http, f"{name}_list", transfer=transfer.pk, to=recipient.to_user_id
            )
            assert count == recipient.record_counts[name], (recipient.to_user_name, name)
            assert scope.endswith(f"moved by transfer #{transfer.pk} to {recipient.to_user_name}")
    count, _ = grid_count(admin_http, "case_list", transfer=transfer.pk)
    assert count == transfer.record_counts["case"]


def test_the_moved_filter_shows_only_what_the_viewer_may_see(signed_in, leaver_firm, administrator):
    from transfers.engine.services import records_transfer_all

    transfer = records_transfer_all(
        acting_user=administrator, old_user=leaver_firm.leaver, new_user=leaver_firm.dana
    ).transfer
    dana = signed_in(leaver_firm.dana)
    count, scope = grid_count(dana, "case_list", transfer=transfer.pk, to=leaver_firm.dana.pk)
    assert count == transfer.record_counts["case"] == 3
    assert scope == f"Your cases from transfer #{transfer.pk}"
    marcus = signed_in(leaver_firm.marcus)
    count, _ = grid_count(marcus, "case_list", transfer=transfer.pk, to=leaver_firm.dana.pk)
    assert count == 0  # Marcus may see none of Dana's cases


def test_an_unknown_transfer_shows_nothing_and_bad_values_are_ignored(admin_http, leaver_firm):
    assert grid_count(admin_http, "client_list", transfer=999999)[0] == 0
    response = admin_http.get(reverse("clients:client_list"), {"transfer": "abc"})
    assert response.status_code == 200
    assert response.context["table"].paginator.count == 3  # every client, with the error shown


# --- The new owner's e-mail ------------------------------------------------------


def test_the_email_links_absolutely_to_the_recipients_records(
    settings, admin_http, leaver_firm, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://casengine.example.com"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin_http.post(
            all_url(leaver_firm.leaver),
            {"new_user": leaver_firm.dana.pk, "request_key": uuid.uuid4()},
        )
    transfer = Transfer.objects.get()
    (message,) = mail.outbox
    query = f"?transfer={transfer.pk}&to={leaver_firm.dana.pk}"
    assert f"Your records from transfer #{transfer.pk}" in message.body
    for path in ("/clients/", "/matters/", "/cases/"):
        assert f"https://casengine.example.com{path}{query}" in message.body
    # Dana, an attorney, may not open receipts: the e-mail does not send her there.
    assert "Receipt:" not in message.body
    assert "/settings/" not in message.body


def test_a_recipient_who_may_open_receipts_gets_the_receipts_absolute_link(
    settings, administrator, leaver_firm, django_capture_on_commit_callbacks
):
    from transfers.engine.services import records_transfer_all
    from transfers.receipts.notifications import transfer_notify_recipients

    settings.SITE_URL = "https://casengine.example.com/"
    leaver_firm.dana.groups.add(Group.objects.get(name=groups.ADMINISTRATORS))
    transfer = records_transfer_all(
        acting_user=administrator, old_user=leaver_firm.leaver, new_user=leaver_firm.dana
    ).transfer
    mail.outbox.clear()
    transfer_notify_recipients(transfer.pk)
    (message,) = mail.outbox
    assert f"Receipt: https://casengine.example.com/settings/transfers/{transfer.pk}/" in (
        message.body
    )


# --- Words that add up, and no dead ends ------------------------------------------


def test_user_transfer_says_what_is_owned_and_what_is_only_linked(admin_http, leaver_firm):
    response = admin_http.get(
        reverse("transfers:transfer_per_client", args=[leaver_firm.leaver.pk])
    )
    html = response.content.decode()
    # Sam owns Acme and Bolt, and has a matter and a case under Marcus's Crane.
    assert "2 clients</a> · has matters or cases under 1 more" in html
    assert len(response.context["rows"]) == 3


def test_a_form_for_a_user_who_owns_nothing_says_so_at_once(admin_http, leaver_firm):
    from tests.factories import OwnerFactory

    empty = OwnerFactory(first_name="Nora", last_name="Empty")
    for name in ("transfer_all", "transfer_per_client"):
        response = admin_http.get(reverse(f"transfers:{name}", args=[empty.pk]))
        html = response.content.decode()
        assert "Nora Empty owns nothing and holds no shares: there is nothing to transfer." in html
        assert ">Save<" not in html
        # Back after a Save asks the server again instead of showing the old form.
        assert "no-store" in response["Cache-Control"]


def test_the_actions_menu_greys_out_transfers_for_a_user_who_owns_nothing(admin_http, leaver_firm):
    from tests.factories import OwnerFactory

    empty = OwnerFactory(first_name="Nora", last_name="Empty")
    html = admin_http.get(reverse("users:user_list"), {"q": "Nora"}).content.decode()
    assert reverse("transfers:transfer_all", args=[empty.pk]) not in html
    assert (
        f'<span class="menu-disabled" aria-disabled="true" '
        f'aria-describedby="nothing-owned-{empty.pk}">User Transfer All</span>' in html
    )
    assert "Nora Empty owns no clients, matters or cases: nothing to transfer." in html
    html = admin_http.get(reverse("users:user_list"), {"q": "Sam"}).content.decode()
    assert reverse("transfers:transfer_all", args=[leaver_firm.leaver.pk]) in html


def test_saving_the_untouched_form_links_to_the_first_row_and_marks_none(admin_http, leaver_firm):
    from tests.helpers import snapshot

    url = reverse("transfers:transfer_per_client", args=[leaver_firm.leaver.pk])
    page = admin_http.get(url)
    before = snapshot()
    response = admin_http.post(
        url,
        {
            "client_ids": page.context["shown_client_ids"],
            "request_key": page.context["request_key"],
            "action": "save",
        },
    )
    html = response.content.decode()
    assert "Choose a new user for every client (3 left without one)." in html
    first = response.context["rows"][0]["client"]
    assert (
        f'<a href="#id_client-{first.pk}">Go to the first client without a new user: '
        f"{first.name} ({first.number})</a>" in html
    )
    assert all(row["error"] == "" for row in response.context["rows"])
    assert "row-invalid" not in html
    assert snapshot() == before
