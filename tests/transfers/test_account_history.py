"""The user page: details, holdings and the account history merged from the
account's events and the receipts that name the user."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clients.services import record_owner_change
from tests.factories import CaseFactory, OwnerFactory
from transfers.engine.services import records_transfer_all, transfer_revert
from transfers.receipts.account_history import user_account_history
from users import groups
from users.models import AccountEvent
from users.services import user_create, user_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(administrator):
    """Dana is created by Olivia, given a second group, her records are
    transferred to Marcus with her deactivation, the transfer is reverted, and
    Olivia gives one of Marcus's own cases to Dana in the admin."""
    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    dana = user_create(
        acting_user=administrator,
        username="dana.reyes",
        password="x",
        first_name="Dana",
        last_name="Reyes",
        groups=[attorneys],
    )
    marcus = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    CaseFactory(matter__client__owner=dana, matter__owner=dana, owner=dana)
    user_update(
        user=dana,
        acting_user=administrator,
        first_name="Dana",
        last_name="Reyes",
        email="",
        groups=[attorneys, paralegals],
    )
    transfer = records_transfer_all(
        acting_user=administrator, old_user=dana, new_user=marcus, deactivate_old_user=True
    ).transfer
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    marcus_case = CaseFactory(matter__client__owner=marcus, matter__owner=marcus, owner=marcus)
    record_owner_change(acting_user=administrator, record=marcus_case, new_owner=dana)
    return dana, marcus, transfer, revert


def test_account_history_tells_every_change_newest_first(story):
    dana, marcus, transfer, revert = story
    history = user_account_history(user=dana)
    lines = [(e.summary, e.actor_name, e.detail, e.receipt_id) for e in history]
    owner_change = history[0].receipt_id
    assert lines == [
        ("Owner changed: given a record of Marcus Hale", "Olivia Grant", "1 case", owner_change),
        ("Reactivated by a revert", "Olivia Grant", "", revert.pk),
        (
            f"Records returned to them from Marcus Hale (revert of #{transfer.pk})",
            "Olivia Grant",
            "1 client, 1 matter, 1 case",
            revert.pk,
        ),
        ("Deactivated by a transfer", "Olivia Grant", "", transfer.pk),
        (
            "Records transferred from them to Marcus Hale (User Transfer All)",
            "Olivia Grant",
            "1 client, 1 matter, 1 case",
            transfer.pk,
        ),
        ("Groups changed", "Olivia Grant", "Groups: Attorneys → Attorneys, Paralegals", None),
        ("Created", "Olivia Grant", "Groups: Attorneys", None),
    ]
    assert [e.kind for e in AccountEvent.objects.filter(user=dana).order_by("pk")] == [
        "created",
        "groups_changed",
        "deactivated",
        "reactivated",
    ]


def test_recipient_sees_what_they_received_and_returned(story):
    dana, marcus, transfer, revert = story
    summaries = [e.summary for e in user_account_history(user=marcus)]
    assert summaries == [
        "Owner changed: a record of theirs given to Dana Reyes",
        f"Records returned from them to Dana Reyes (revert of #{transfer.pk})",
        "Records received from Dana Reyes (User Transfer All)",
    ]


def test_user_page_shows_details_holdings_and_history_with_receipt_links(
    client, administrator, story, django_assert_max_num_queries
):
    dana, _marcus, transfer, revert = story
    client.force_login(administrator)
    url = reverse("transfers:user_page", args=[dana.pk])
    # Measured 13, whatever the length of the history: session, user, permissions,
    # the person and groups, holdings, events, receipts from (and two prefetches),
    # receipts to, reverts taking back.
    with django_assert_max_num_queries(13):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Dana Reyes</h1>" in html
    assert "Attorneys, Paralegals" in html
    assert f'href="{reverse("clients:case_list")}?owner={dana.pk}">2 cases</a>' in html
    assert '<h2 id="account-history-heading">Account history</h2>' in html
    history = re.search(r'<ol class="history">(.*?)</ol>', html, re.S).group(1)
    assert "Deactivated by a transfer by Olivia Grant on" in history
    for receipt in (transfer, revert):
        assert f'<a href="{receipt.get_absolute_url()}">receipt #{receipt.pk}</a>' in history
    # Linked from User Registration and from the Edit page.
    listing = client.get(reverse("users:user_list")).content.decode()
    assert f'<a href="{url}">Dana Reyes</a>' in listing
    edit = client.get(reverse("users:user_update", args=[dana.pk])).content.decode()
    assert f'href="{url}"' in edit


def test_user_page_needs_the_settings_permission(client, paralegal, story):
    dana = story[0]
    client.force_login(paralegal)
    assert client.get(reverse("transfers:user_page", args=[dana.pk])).status_code == 403


def test_unknown_user_page_is_404(client, administrator):
    client.force_login(administrator)
    assert client.get(reverse("transfers:user_page", args=[987654])).status_code == 404
