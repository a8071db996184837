"""The transfer screens through the test client: User Transfer All, User
Transfer, receipts, CSV, Revert and Transfer History."""

import csv
import io
import re
import uuid

import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from clients.demo import bulk_users_ensure
from clients.models import Case, Client, Matter
from tests.factories import ClientFactory, ClientShareFactory, OwnerFactory, UserFactory
from tests.helpers import permission, snapshot
from transfers.models import Transfer, TransferredRecord
from transfers.web.fields import user_reference
from users import groups
from users.models import User

pytestmark = pytest.mark.django_db

# Measured: 8 for the User Transfer form with 1,000 linked clients (session,
# user, 2 permission loads, old user, eligible users with their workload,
# linked clients, holdings) and 13 for a receipt page. Neither grows with rows.
PER_CLIENT_FORM_BUDGET = 10
RECEIPT_BUDGET = 15


def codes(response, field=None):
    form = response.context["form"]
    key = field or "__all__"
    return [error.code for error in form.errors.as_data().get(key, [])]


def all_url(user):
    return reverse("transfers:transfer_all", args=[user.pk])


def per_client_url(user):
    return reverse("transfers:transfer_per_client", args=[user.pk])


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def per_client_data(page, assignments, **extra):
    """The form as the browser would post it after a GET of `page`."""
    data = {
        "client_ids": page.context["shown_client_ids"],
        "request_key": page.context["request_key"],
        "action": "save",
    }
    data.update({f"client-{client.pk}": user.pk for client, user in assignments.items()})
    data.update(extra)
    return data


# --- User Transfer All -------------------------------------------------------


def test_transfer_all_page_shows_holdings_and_only_eligible_new_users(admin_http, leaver_firm):
    UserFactory(first_name="Helen", last_name="Manager", groups=[groups.MANAGERS])
    OwnerFactory(first_name="Ivy", last_name="Inactive", is_active=False)
    ClientFactory(owner=leaver_firm.dana)
    response = admin_http.get(all_url(leaver_firm.leaver))
    html = response.content.decode()
    assert "<h1>User Transfer All</h1>" in html
    assert "2 clients</a>" in html and "3 matters</a>" in html and "3 cases</a>" in html
    assert "1 explicit share<" in html
    assert '<label for="id_new_user">New user</label>' in html
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', html)
    assert dict(options) == {
        str(leaver_firm.dana.pk): "Dana Reyes — 1 client, 0 matters, 0 cases",
        str(leaver_firm.marcus.pk): "Marcus Hale — 1 client, 1 matter, 0 cases",
    }
    assert '<label for="id_deactivate_old_user">Deactivate the old user</label>' in html
    assert '<button type="submit" class="primary">Save</button>' in html
    assert f'<a class="button" href="{reverse("users:user_list")}">Cancel</a>' in html
    assert 'name="request_key"' in html
    assert re.search(r'<script src="[^"]*js/app\.js" defer></script>', html)
    assert "style=" not in html and "<script>" not in html


def test_transfer_all_moves_everything_and_lands_on_the_receipt(admin_http, leaver_firm):
    page = admin_http.get(all_url(leaver_firm.leaver))
    key = page.context["form"].initial["request_key"]
    response = admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": leaver_firm.dana.pk, "request_key": key},
        follow=True,
    )
    transfer = Transfer.objects.get()
    assert response.redirect_chain == [(transfer.get_absolute_url(), 302)]
    assert messages_of(response) == [
        "Transferred 2 clients, 3 matters, 3 cases and 1 share from Sam Leaver to "
        "Dana Reyes (2 clients, 3 matters and 3 cases)."
    ]
    assert not Client.objects.filter(owner=leaver_firm.leaver).exists()
    assert not Matter.objects.filter(owner=leaver_firm.leaver).exists()
    assert not Case.objects.filter(owner=leaver_firm.leaver).exists()
    assert Matter.objects.get(pk=leaver_firm.others_matter.pk).owner == leaver_firm.marcus
    assert Client.objects.get(pk=leaver_firm.crane.pk).owner == leaver_firm.marcus
    leaver_firm.leaver.refresh_from_db()
    assert leaver_firm.leaver.is_active
    assert transfer.request_key == key


def test_transfer_all_with_deactivation(admin_http, leaver_firm):
    response = admin_http.post(
        all_url(leaver_firm.leaver),
        {
            "new_user": leaver_firm.marcus.pk,
            "deactivate_old_user": "on",
            "request_key": uuid.uuid4(),
        },
        follow=True,
    )
    assert messages_of(response)[0].endswith("Sam Leaver was deactivated.")
    leaver_firm.leaver.refresh_from_db()
    assert not leaver_firm.leaver.is_active
    assert Transfer.objects.get().deactivated_from_user


def test_double_post_lands_on_the_same_receipt(admin_http, leaver_firm):
    data = {
        "new_user": leaver_firm.dana.pk,
        "deactivate_old_user": "on",
        "request_key": uuid.uuid4(),
    }
    first = admin_http.post(all_url(leaver_firm.leaver), data, follow=True)
    second = admin_http.post(all_url(leaver_firm.leaver), data, follow=True)
    transfer = Transfer.objects.get()
    assert first.redirect_chain == [(transfer.get_absolute_url(), 302)]
    assert second.redirect_chain == [(transfer.get_absolute_url(), 302)]
    assert messages_of(second) == ["This form was already saved: here is its receipt."]
    assert TransferredRecord.objects.filter(transfer=transfer).count() == 9


@pytest.mark.parametrize(
    ("new_user", "code"),
    [
        ("leaver", "same_user"),
        ("inactive", "new_user_inactive"),
        ("suspended", "new_user_suspended"),
        ("manager", "new_user_ineligible"),
        ("unknown", "new_user_unknown"),
    ],
)
def test_transfer_all_refusals_are_shown_next_to_new_user(
    admin_http, leaver_firm, manager, new_user, code
):
    choice = {
        "leaver": lambda: leaver_firm.leaver.pk,
        "inactive": lambda: OwnerFactory(first_name="Ivy", last_name="Gone", is_active=False).pk,
        "suspended": lambda: OwnerFactory(sign_in_suspended_at=timezone.now()).pk,
        "manager": lambda: manager.pk,
        "unknown": lambda: 987654,
    }[new_user]()
    before = snapshot()
    response = admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": choice, "deactivate_old_user": "on", "request_key": uuid.uuid4()},
    )
    assert response.status_code == 200
    assert codes(response, "new_user") == [code]
    html = response.content.decode()
    message = response.context["form"].errors["new_user"][0]
    assert message in html.replace("&#x27;", "'")
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_transfer_all_refusal_messages_read_well(admin_http, leaver_firm, manager):
    response = admin_http.post(
        all_url(leaver_firm.leaver), {"new_user": manager.pk, "request_key": uuid.uuid4()}
    )
    assert response.context["form"].errors["new_user"] == [
        "Helen Ward is not allowed to own clients, matters or cases."
    ]
    response = admin_http.post(all_url(leaver_firm.leaver), {"request_key": uuid.uuid4()})
    assert codes(response, "new_user") == ["required"]
    assert response.context["form"].errors["new_user"] == [
        "Choose the user who receives everything."
    ]
    response = admin_http.post(all_url(leaver_firm.leaver), {"new_user": "abc"})
    assert codes(response, "new_user") == ["invalid_choice"]


def test_refuses_to_deactivate_own_account(admin_http, administrator, leaver_firm):
    before = snapshot()
    response = admin_http.post(
        all_url(administrator),
        {"new_user": leaver_firm.dana.pk, "deactivate_old_user": "on", "request_key": uuid.uuid4()},
    )
    assert codes(response, "deactivate_old_user") == ["deactivate_self"]
    assert "You cannot deactivate your own account." in response.content.decode()
    assert snapshot() == before


def test_refuses_to_deactivate_the_last_superuser(admin_http, superuser, leaver_firm):
    ClientFactory(owner=superuser)
    before = snapshot()
    response = admin_http.post(
        all_url(superuser),
        {"new_user": leaver_firm.dana.pk, "deactivate_old_user": "on", "request_key": uuid.uuid4()},
    )
    assert codes(response, "deactivate_old_user") == ["last_superuser"]
    assert snapshot() == before


def test_nothing_to_transfer_is_shown_at_the_top(admin_http, leaver_firm):
    empty = OwnerFactory(first_name="Nora", last_name="Empty")
    response = admin_http.post(
        all_url(empty), {"new_user": leaver_firm.dana.pk, "request_key": uuid.uuid4()}
    )
    assert codes(response) == ["nothing_to_transfer"]
    assert 'class="form-errors" role="alert"' in response.content.decode()


# --- User Transfer (per client) ----------------------------------------------


def test_per_client_page_lists_linked_clients_with_labelled_selects(admin_http, leaver_firm):
    response = admin_http.get(per_client_url(leaver_firm.leaver))
    html = response.content.decode()
    assert "<h1>User Transfer</h1>" in html
    rows = response.context["rows"]
    assert [row["client"].name for row in rows] == ["Acme Ltd", "Bolt & Sons", "Crane Co"]
    for client in (leaver_firm.acme, leaver_firm.bolt, leaver_firm.crane):
        label = f'<label class="visually-hidden" for="id_client-{client.pk}">New user for '
        assert label in html
    assert f'for="id_client-{leaver_firm.bolt.pk}">New user for Bolt &amp; Sons</label>' in html
    assert "C-00002" in html
    assert "The client, 1 matter, 2 cases" in html  # Acme
    assert "0 matters" not in html.split("Crane Co")[1].split("</tr>")[0]
    crane_row = re.search(r"Crane Co</a></th>.*?</tr>", html, re.S).group(0)
    assert "The client" not in crane_row and "1 matter, 1 case" in crane_row
    ids = sorted(int(pk) for pk in response.context["shown_client_ids"].split(","))
    assert ids == sorted([leaver_firm.acme.pk, leaver_firm.bolt.pk, leaver_firm.crane.pk])
    assert f'<input type="hidden" name="client_ids" value="{response.context["shown_client_ids"]}">'
    assert '<label for="id_assign_all_to">Assign all to</label>' in html
    assert '<label for="id_deactivate_old_user">Deactivate the old user</label>' in html
    assert ">Save</button>" in html
    assert "style=" not in html and "<script>" not in html


def test_per_client_transfer_splits_the_clients(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    data = per_client_data(
        page,
        {
            leaver_firm.acme: leaver_firm.dana,
            leaver_firm.bolt: leaver_firm.marcus,
            leaver_firm.crane: leaver_firm.dana,
        },
        deactivate_old_user="on",
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data, follow=True)
    transfer = Transfer.objects.get()
    assert transfer.mode == Transfer.Mode.PER_CLIENT
    assert response.redirect_chain == [(transfer.get_absolute_url(), 302)]
    assert messages_of(response) == [
        "Transferred 2 clients, 3 matters, 3 cases and 1 share from Sam Leaver to "
        "Dana Reyes (1 client, 2 matters and 3 cases) and "
        "Marcus Hale (1 client, 1 matter and 0 cases). Sam Leaver was deactivated."
    ]
    assert Client.objects.get(pk=leaver_firm.acme.pk).owner == leaver_firm.dana
    assert Client.objects.get(pk=leaver_firm.bolt.pk).owner == leaver_firm.marcus
    assert Client.objects.get(pk=leaver_firm.crane.pk).owner == leaver_firm.marcus
    assert set(Matter.objects.filter(client=leaver_firm.crane).values_list("owner", flat=True)) == {
        leaver_firm.dana.pk,
        leaver_firm.marcus.pk,
    }
    leaver_firm.leaver.refresh_from_db()
    assert not leaver_firm.leaver.is_active
    # Pressing Save again (double click, back and resubmit): the same receipt.
    again = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert again.status_code == 302 and again.url == transfer.get_absolute_url()
    assert Transfer.objects.count() == 1


def test_unassigned_clients_are_refused_and_named(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    before = snapshot()
    response = admin_http.post(
        per_client_url(leaver_firm.leaver),
        per_client_data(page, {leaver_firm.bolt: leaver_firm.dana}),
    )
    assert codes(response) == ["client_unassigned"]
    html = response.content.decode()
    assert "Choose a new user for every client (2 left without one)." in html
    assert response.context["refused_clients"] == ["Acme Ltd (C-00001)", "Crane Co (C-00003)"]
    # Each named client links to its row, and the first one is offered at once.
    acme, crane = f"#id_client-{leaver_firm.acme.pk}", f"#id_client-{leaver_firm.crane.pk}"
    assert f'<li><a href="{acme}">Acme Ltd (C-00001)</a></li>' in html
    assert f'<li><a href="{crane}">Crane Co (C-00003)</a></li>' in html
    assert (
        f'<a href="{acme}">Go to the first client without a new user: Acme Ltd (C-00001)</a>'
        in html
    )
    errors = {row["client"].pk: row["error"] for row in response.context["rows"]}
    assert errors == {
        leaver_firm.acme.pk: "Choose a new user for this client.",
        leaver_firm.bolt.pk: "",
        leaver_firm.crane.pk: "Choose a new user for this client.",
    }
    # What was chosen stays chosen.
    bolt_row = next(r for r in response.context["rows"] if r["client"] == leaver_firm.bolt)
    assert bolt_row["value"] == str(leaver_firm.dana.pk)
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_forged_client_id_is_refused(admin_http, leaver_firm):
    stranger = ClientFactory(name="Stranger Inc", number="C-09999", owner=leaver_firm.marcus)
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    before = snapshot()
    data = per_client_data(
        page,
        {
            leaver_firm.acme: leaver_firm.dana,
            leaver_firm.bolt: leaver_firm.dana,
            leaver_firm.crane: leaver_firm.dana,
            stranger: leaver_firm.dana,
        },
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(response) == ["client_not_linked"]
    assert response.context["refused_clients"] == ["Stranger Inc (C-09999)"]
    assert "Stranger Inc (C-09999)" in response.content.decode()
    assert snapshot() == before
    assert Client.objects.get(pk=stranger.pk).owner == leaver_firm.marcus


def test_stale_form_is_refused_and_shown_again_with_the_current_list(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    late = ClientFactory(name="Late Arrival", number="C-00004", owner=leaver_firm.leaver)
    before = snapshot()
    data = per_client_data(
        page,
        {
            leaver_firm.acme: leaver_firm.dana,
            leaver_firm.bolt: leaver_firm.dana,
            leaver_firm.crane: leaver_firm.dana,
        },
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(response) == ["stale_form"]
    assert "changed since this form was opened" in response.content.decode()
    assert snapshot() == before
    rows = response.context["rows"]
    assert late in [row["client"] for row in rows]
    assert str(late.pk) in response.context["shown_client_ids"].split(",")
    # The choices already made survive; the re-shown form saves once completed.
    acme_row = next(r for r in rows if r["client"] == leaver_firm.acme)
    assert acme_row["value"] == str(leaver_firm.dana.pk)
    data = per_client_data(
        response,
        {
            leaver_firm.acme: leaver_firm.dana,
            leaver_firm.bolt: leaver_firm.dana,
            leaver_firm.crane: leaver_firm.dana,
            late: leaver_firm.marcus,
        },
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert response.status_code == 302
    assert Client.objects.get(pk=late.pk).owner == leaver_firm.marcus


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("leaver", "same_user"),
        ("inactive", "new_user_inactive"),
        ("suspended", "new_user_suspended"),
        ("manager", "new_user_ineligible"),
    ],
)
def test_per_client_refusals_are_shown_on_the_rows(admin_http, leaver_firm, manager, who, code):
    target = {
        "leaver": lambda: leaver_firm.leaver,
        "inactive": lambda: OwnerFactory(first_name="Ivy", last_name="Gone", is_active=False),
        "suspended": lambda: OwnerFactory(sign_in_suspended_at=timezone.now()),
        "manager": lambda: manager,
    }[who]()
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    before = snapshot()
    data = per_client_data(
        page,
        {
            leaver_firm.acme: leaver_firm.dana,
            leaver_firm.bolt: target,
            leaver_firm.crane: leaver_firm.dana,
        },
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(response) == [code]
    errors = {row["client"].pk: row["error"] for row in response.context["rows"]}
    assert errors[leaver_firm.bolt.pk] == response.context["form"].non_field_errors()[0]
    assert errors[leaver_firm.acme.pk] == ""
    assert response.context["refused_clients"] == ["Bolt & Sons (C-00002)"]
    assert snapshot() == before


def test_per_client_refuses_deactivating_own_account(admin_http, administrator, leaver_firm):
    ClientFactory(name="Own Client", owner=OwnerFactory())
    administrator.groups.add(Group.objects.get(name=groups.ATTORNEYS))
    mine = ClientFactory(name="Mine", owner=administrator)
    page = admin_http.get(per_client_url(administrator))
    before = snapshot()
    response = admin_http.post(
        per_client_url(administrator),
        per_client_data(page, {mine: leaver_firm.dana}, deactivate_old_user="on"),
    )
    assert codes(response, "deactivate_old_user") == ["deactivate_self"]
    assert snapshot() == before


def test_assign_all_fills_every_row_without_javascript(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    data = per_client_data(page, {}, action="assign_all", assign_all_to=leaver_firm.marcus.pk)
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert response.status_code == 200
    assert not Transfer.objects.exists()
    for row in response.context["rows"]:
        assert row["value"] == user_reference(leaver_firm.marcus) == "Marcus Hale (marcus.hale)"
        assert f'value="{row["value"]}"' in response.content.decode()
    assert response.context["request_key"] == data["request_key"]
    # The filled form saves as it is.
    filled = {
        "client_ids": response.context["shown_client_ids"],
        "request_key": response.context["request_key"],
        "action": "save",
        **{f"client-{row['client'].pk}": leaver_firm.marcus.pk for row in response.context["rows"]},
    }
    assert admin_http.post(per_client_url(leaver_firm.leaver), filled).status_code == 302
    assert set(
        Client.objects.filter(pk__in=[leaver_firm.acme.pk, leaver_firm.bolt.pk]).values_list(
            "owner", flat=True
        )
    ) == {leaver_firm.marcus.pk}


def test_assign_all_needs_a_user(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    response = admin_http.post(
        per_client_url(leaver_firm.leaver), per_client_data(page, {}, action="assign_all")
    )
    assert codes(response, "assign_all_to") == ["assign_all_required"]
    assert response.context["form"].errors["assign_all_to"] == [
        "Choose the user to assign every client to."
    ]
    assert not Transfer.objects.exists()


def test_per_client_form_for_1000_clients_has_a_bounded_query_count(
    admin_http, leaver_firm, django_assert_max_num_queries
):
    Client.objects.bulk_create(
        [
            Client(number=f"C-B{i:05d}", name=f"Bulk client {i:05d}", owner=leaver_firm.leaver)
            for i in range(1000 - 3)
        ],
        batch_size=500,
    )
    OwnerFactory.create_batch(200 - User.objects.exclude(pk=leaver_firm.leaver.pk).count())
    with django_assert_max_num_queries(PER_CLIENT_FORM_BUDGET):
        response = admin_http.get(per_client_url(leaver_firm.leaver))
    assert len(response.context["rows"]) == 1000
    html = response.content.decode()
    assert html.count('<input name="client-') == 1000
    # One shared list of users, not one per row: the page stays under 1 MB.
    eligible = len(response.context["new_users"])
    assert eligible >= 195
    assert html.count("<datalist") == 1 and html.count("<option") == eligible
    assert len(response.content) <= 1_000_000
    # A refused Save re-renders the 1,000 rows within the same kind of budget.
    data = per_client_data(response, {leaver_firm.acme: leaver_firm.dana})
    with django_assert_max_num_queries(PER_CLIENT_FORM_BUDGET + 12):
        refused = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(refused) == ["client_unassigned"]
    assert len(refused.context["refused_clients"]) == 999


# --- Receipt, CSV, Revert ----------------------------------------------------


@pytest.fixture
def transfer(admin_http, leaver_firm):
    admin_http.post(
        all_url(leaver_firm.leaver),
        {"new_user": leaver_firm.dana.pk, "deactivate_old_user": "on", "request_key": uuid.uuid4()},
    )
    return Transfer.objects.get()


def test_receipt_shows_who_when_from_to_and_every_record(admin_http, transfer, leaver_firm):
    response = admin_http.get(transfer.get_absolute_url())
    html = response.content.decode()
    assert f"<h1>Transfer #{transfer.pk}: User Transfer All</h1>" in html
    assert "<dt>By</dt><dd>Olivia Grant</dd>" in html
    assert "<dt>From</dt><dd>Sam Leaver</dd>" in html
    assert "Sam Leaver was deactivated" in html
    assert f'datetime="{transfer.created_at.isoformat()}' in html
    # Each count links to exactly the records it counts: moved by this transfer to Dana.
    moved = f"?transfer={transfer.pk}&amp;to={leaver_firm.dana.pk}"
    assert f'href="{reverse("clients:client_list")}{moved}"' in html
    assert f'href="{reverse("clients:matter_list")}{moved}"' in html
    assert f'href="{reverse("clients:case_list")}{moved}"' in html
    assert (
        f'<a href="{reverse("clients:client_detail", args=[leaver_firm.acme.pk])}">Acme Ltd</a>'
        in html
    )
    matter = Matter.objects.get(number="M-00003")
    assert f'<a href="{reverse("clients:matter_detail", args=[matter.pk])}">' in html
    case = Case.objects.get(number="K-00001")
    assert f'<a href="{reverse("clients:case_detail", args=[case.pk])}">' in html
    assert response.context["page_obj"].paginator.count == 9
    assert f'href="{reverse("transfers:transfer_csv", args=[transfer.pk])}"' in html
    assert (
        f'href="{reverse("transfers:transfer_revert_confirm", args=[transfer.pk])}">Revert<' in html
    )


def test_receipt_filters_by_type_and_paginates(
    admin_http, leaver_firm, django_assert_max_num_queries
):
    Client.objects.bulk_create(
        [
            Client(number=f"C-P{i:04d}", name=f"Paged {i:04d}", owner=leaver_firm.leaver)
            for i in range(120)
        ]
    )
    admin_http.post(
        all_url(leaver_firm.leaver), {"new_user": leaver_firm.dana.pk, "request_key": uuid.uuid4()}
    )
    transfer = Transfer.objects.get()
    url = transfer.get_absolute_url()
    with django_assert_max_num_queries(RECEIPT_BUDGET):
        response = admin_http.get(url, {"type": "client", "page": 2})
    assert response.context["page_obj"].paginator.count == 122
    assert len(response.context["rows"]) == 50
    assert {row.record_type for row in response.context["rows"]} == {"client"}
    assert "Page 2 of 3" in response.content.decode()
    assert "type=client&amp;page=3" in response.content.decode()
    response = admin_http.get(url, {"type": "case"})
    assert {row.record_type for row in response.context["rows"]} == {"case"}
    assert response.context["page_obj"].paginator.count == 3
    assert admin_http.get(url, {"type": "bogus"}).context["page_obj"].paginator.count == 129


def test_receipt_survives_deleted_records(admin_http, transfer, leaver_firm):
    share_rows = TransferredRecord.objects.filter(transfer=transfer, record_type="client_share")
    assert share_rows.count() == 1
    Case.objects.filter(number="K-00002").delete()
    response = admin_http.get(transfer.get_absolute_url(), {"type": "case"})
    page = response.content.decode()
    assert "Deleted since" in page
    # Its number is gone with it: an empty cell, not the word None.
    assert '<td data-label="Number" class="record-no"></td>' in page
    assert ">None<" not in page


def test_csv_download_streams_every_row(admin_http, transfer, leaver_firm):
    response = admin_http.get(reverse("transfers:transfer_csv", args=[transfer.pk]))
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="transfer-{transfer.pk}.csv"' in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    # A byte-order mark first, so Excel on Windows reads it as UTF-8.
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == [
        "transfer",
        "record_type",
        "record_id",
        "record_number",
        "record_name",
        "permission",
        "from_user",
        "to_user",
        "share_merged",
        "share_revoked",
    ]
    body = rows[1:]
    assert len(body) == 9
    assert [
        str(transfer.pk),
        "client",
        str(leaver_firm.acme.pk),
        "C-00001",
        "Acme Ltd",
        "",
        "Sam Leaver",
        "Dana Reyes",
        "",
        "",
    ] in body
    share = next(row for row in body if row[1] == "client_share")
    assert share[2:6] == [str(leaver_firm.crane.pk), "C-00003", "Crane Co", "view_client"]
    assert sorted(row[1] for row in body).count("case") == 3


def test_a_merged_share_is_marked_on_the_receipt_and_in_the_csv(admin_http, leaver_firm):
    ClientShareFactory(content_object=leaver_firm.crane, user=leaver_firm.dana)
    admin_http.post(
        all_url(leaver_firm.leaver), {"new_user": leaver_firm.dana.pk, "request_key": uuid.uuid4()}
    )
    transfer = Transfer.objects.get()
    receipt = admin_http.get(transfer.get_absolute_url(), {"type": "client_share"})
    assert "already held by the new user: merged" in receipt.content.decode()
    content = b"".join(
        admin_http.get(reverse("transfers:transfer_csv", args=[transfer.pk])).streaming_content
    ).decode()
    header, *rows = csv.reader(io.StringIO(content))
    share = dict(zip(header, next(row for row in rows if row[1] == "client_share"), strict=True))
    assert (share["share_merged"], share["share_revoked"]) == ("yes", "")


FORMULA_STARTS = {"=": "equals", "+": "plus", "-": "minus", "@": "at", "\t": "tab", "\r": "return"}


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=FORMULA_STARTS.get)
def test_csv_neutralises_formulas(admin_http, leaver_firm, start):
    """A cell a spreadsheet would run as a formula starts with a quote, whatever
    the character that would make it one (names keep leading whitespace)."""
    name = f"{start}HYPERLINK(1)"
    leaver_firm.acme.name = name
    leaver_firm.acme.save()
    admin_http.post(
        all_url(leaver_firm.leaver), {"new_user": leaver_firm.dana.pk, "request_key": uuid.uuid4()}
    )
    transfer = Transfer.objects.get()
    content = b"".join(
        admin_http.get(reverse("transfers:transfer_csv", args=[transfer.pk])).streaming_content
    ).decode()
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    [client_row] = [
        row for row in rows if row[1] == "client" and row[2] == str(leaver_firm.acme.pk)
    ]
    assert client_row[4] == "'" + name


def test_revert_confirmation_then_post(admin_http, transfer, leaver_firm):
    confirm = admin_http.get(reverse("transfers:transfer_revert_confirm", args=[transfer.pk]))
    html = confirm.content.decode()
    assert f'action="{reverse("transfers:transfer_revert", args=[transfer.pk])}"' in html
    assert '<button type="submit" class="danger">Revert</button>' in html
    # Dana passes one matter on before the revert: it is left alone.
    changed = Matter.objects.get(number="M-00002")
    Matter.objects.filter(pk=changed.pk).update(owner=leaver_firm.marcus)
    key = confirm.context["request_key"]
    response = admin_http.post(
        reverse("transfers:transfer_revert", args=[transfer.pk]), {"request_key": key}, follow=True
    )
    revert = Transfer.objects.get(mode=Transfer.Mode.REVERT)
    assert response.redirect_chain == [(revert.get_absolute_url(), 302)]
    message = messages_of(response)[0]
    assert message.startswith(f"Reverted transfer #{transfer.pk}: moved back 2 clients, 2 matters")
    assert "Sam Leaver was reactivated." in message
    assert "Left alone because they changed since the transfer: Matter" in message
    assert "(M-00002)" in message
    leaver_firm.leaver.refresh_from_db()
    assert leaver_firm.leaver.is_active
    assert Client.objects.get(pk=leaver_firm.acme.pk).owner == leaver_firm.leaver
    assert Matter.objects.get(pk=changed.pk).owner == leaver_firm.marcus
    html = response.content.decode()
    assert f'Reverts</dt><dd><a href="{transfer.get_absolute_url()}"' in html
    assert "Left alone (changed since the reverted transfer)" in html
    # The same confirmation posted twice lands on the same receipt.
    again = admin_http.post(
        reverse("transfers:transfer_revert", args=[transfer.pk]), {"request_key": key}
    )
    assert again.url == revert.get_absolute_url()
    assert Transfer.objects.filter(mode=Transfer.Mode.REVERT).count() == 1
    # A reverted transfer offers no Revert any more.
    receipt = admin_http.get(transfer.get_absolute_url()).content.decode()
    assert ">Revert</a>" not in receipt
    assert f"already reverted by transfer #{revert.pk}" in receipt


def test_revert_refused_is_shown_and_changes_nothing(admin_http, transfer, leaver_firm):
    admin_http.post(
        reverse("transfers:transfer_revert", args=[transfer.pk]), {"request_key": uuid.uuid4()}
    )
    before = snapshot()
    response = admin_http.post(
        reverse("transfers:transfer_revert", args=[transfer.pk]), {"request_key": uuid.uuid4()}
    )
    assert response.status_code == 200
    assert response.context["refusal"].code == "revert_not_allowed"
    assert "This transfer cannot be reverted" in response.content.decode()
    assert snapshot() == before
    assert Transfer.objects.count() == 2


def test_revert_url_is_post_only(admin_http, transfer):
    assert (
        admin_http.get(reverse("transfers:transfer_revert", args=[transfer.pk])).status_code == 405
    )
    confirm = reverse("transfers:transfer_revert_confirm", args=[transfer.pk])
    assert admin_http.post(confirm).status_code == 405
    assert not Transfer.objects.filter(mode=Transfer.Mode.REVERT).exists()


# --- Transfer History ----------------------------------------------------------


def test_transfer_history_lists_and_searches(admin_http, transfer, leaver_firm):
    other = OwnerFactory(first_name="Zed", last_name="Other")
    ClientFactory(owner=other)
    admin_http.post(
        all_url(other), {"new_user": leaver_firm.marcus.pk, "request_key": uuid.uuid4()}
    )
    url = reverse("transfers:transfer_list")
    response = admin_http.get(url)
    html = response.content.decode()
    assert "<h1>Transfer History</h1>" in html
    assert '<label for="id_q">Search transfers</label>' in html
    assert len(response.context["transfers"]) == 2
    assert f'<a href="{transfer.get_absolute_url()}">#{transfer.pk}</a>' in html
    assert "Deactivated" in html
    found = admin_http.get(url, {"q": "Leaver"}).context["transfers"]
    assert [t.pk for t in found] == [transfer.pk]
    found = admin_http.get(url, {"q": "Marcus"}).context["transfers"]
    assert [t.from_user_name for t in found] == ["Zed Other"]


def test_transfer_history_paginates(
    admin_http, administrator, leaver_firm, django_assert_max_num_queries
):
    Transfer.objects.bulk_create(
        [
            Transfer(
                mode=Transfer.Mode.ALL,
                actor=administrator,
                actor_name="Olivia Grant",
                from_user_name=f"Person {i}",
            )
            for i in range(120)
        ]
    )
    with django_assert_max_num_queries(10):
        response = admin_http.get(reverse("transfers:transfer_list"), {"page": 3})
    assert len(response.context["transfers"]) == 20
    assert "Page 3 of 3" in response.content.decode()


# --- Permissions, 404, 405, CSRF ------------------------------------------------


def transfer_urls(user, transfer):
    return [
        reverse("transfers:transfer_list"),
        all_url(user),
        per_client_url(user),
        transfer.get_absolute_url(),
        reverse("transfers:transfer_csv", args=[transfer.pk]),
        reverse("transfers:transfer_revert_confirm", args=[transfer.pk]),
    ]


def test_anonymous_is_sent_to_sign_in(transfer, leaver_firm):
    anonymous = HttpClient()
    for url in transfer_urls(leaver_firm.leaver, transfer):
        response = anonymous.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url
    response = anonymous.post(reverse("transfers:transfer_revert", args=[transfer.pk]))
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["attorney", "paralegal", "manager"])
def test_staff_get_403_everywhere(request, transfer, leaver_firm, role):
    http = HttpClient()
    http.force_login(request.getfixturevalue(role))
    for url in transfer_urls(leaver_firm.leaver, transfer):
        assert http.get(url).status_code == 403, url
    before = snapshot()
    assert (
        http.post(all_url(leaver_firm.marcus), {"new_user": leaver_firm.dana.pk}).status_code == 403
    )
    assert http.post(per_client_url(leaver_firm.marcus), {}).status_code == 403
    assert http.post(reverse("transfers:transfer_revert", args=[transfer.pk])).status_code == 403
    assert snapshot() == before


def test_administrator_gets_every_transfer_page(admin_http, transfer, leaver_firm):
    for url in transfer_urls(leaver_firm.marcus, transfer):
        assert admin_http.get(url).status_code == 200, url


def test_reader_of_receipts_cannot_transfer_or_revert(transfer, leaver_firm):
    reader = UserFactory(first_name="Rita", last_name="Reader")
    reader.user_permissions.add(
        permission("view_user", app_label="users"),
        permission("view_transfer", app_label="transfers"),
    )
    http = HttpClient()
    http.force_login(reader)
    receipt = http.get(transfer.get_absolute_url())
    assert receipt.status_code == 200
    assert ">Revert</a>" not in receipt.content.decode()
    assert http.get(reverse("transfers:transfer_list")).status_code == 200
    assert http.get(all_url(leaver_firm.marcus)).status_code == 403
    assert http.get(per_client_url(leaver_firm.marcus)).status_code == 403
    confirm = reverse("transfers:transfer_revert_confirm", args=[transfer.pk])
    assert http.get(confirm).status_code == 403
    assert http.post(reverse("transfers:transfer_revert", args=[transfer.pk])).status_code == 403
    # Without view_transfer, the Settings page does not offer Transfer History.
    reader.user_permissions.remove(permission("view_transfer", app_label="transfers"))
    reader = User.objects.get(pk=reader.pk)
    http.force_login(reader)
    assert "Transfer History" not in http.get(reverse("users:settings")).content.decode()
    assert http.get(transfer.get_absolute_url()).status_code == 403


def test_unknown_and_non_numeric_ids_are_404(admin_http, transfer):
    for name in ("transfer_all", "transfer_per_client"):
        assert admin_http.get(reverse(f"transfers:{name}", args=[999999])).status_code == 404
    for name in ("transfer_detail", "transfer_csv", "transfer_revert_confirm"):
        assert admin_http.get(reverse(f"transfers:{name}", args=[999999])).status_code == 404
    assert admin_http.post(reverse("transfers:transfer_revert", args=[999999])).status_code == 404
    for path in (
        "/settings/transfers/abc/",
        "/settings/transfers/abc/records.csv",
        "/settings/transfers/users/abc/all/",
        "/settings/transfers/users/abc/per-client/",
        "/settings/transfers/abc/revert/",
    ):
        assert admin_http.get(path).status_code == 404, path


def test_missing_csrf_token_is_refused(administrator, leaver_firm):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(administrator)
    before = snapshot()
    response = http.post(all_url(leaver_firm.leaver), {"new_user": leaver_firm.dana.pk})
    assert response.status_code == 403
    response = http.post(
        per_client_url(leaver_firm.leaver),
        {
            f"client-{c.pk}": leaver_firm.dana.pk
            for c in (leaver_firm.acme, leaver_firm.bolt, leaver_firm.crane)
        },
    )
    assert response.status_code == 403
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_assign_all_on_a_changed_list_says_so(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    late = ClientFactory(name="Late Arrival", number="C-00004", owner=leaver_firm.leaver)
    data = per_client_data(page, {}, action="assign_all", assign_all_to=leaver_firm.dana.pk)
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(response) == ["list_changed"]
    assert late in [row["client"] for row in response.context["rows"]]
    assert all(row["value"] == user_reference(leaver_firm.dana) for row in response.context["rows"])
    assert not Transfer.objects.exists()


def test_permission_is_checked_before_any_lookup(client, attorney):
    client.force_login(attorney)
    for name in ("transfer_all", "transfer_per_client", "transfer_detail", "transfer_csv"):
        assert client.get(reverse(f"transfers:{name}", args=[999999])).status_code == 403, name
    assert client.post(reverse("transfers:transfer_revert", args=[999999])).status_code == 403
    assert client.get(reverse("transfers:transfer_revert", args=[999999])).status_code == 403


def test_damaged_hidden_fields_are_shown_at_the_top(admin_http, leaver_firm):
    before = snapshot()
    response = admin_http.post(
        all_url(leaver_firm.leaver), {"new_user": leaver_firm.dana.pk, "request_key": "not-a-key"}
    )
    assert codes(response, "request_key") == ["invalid"]
    assert 'class="form-errors" role="alert"' in response.content.decode()
    assert "Enter a valid UUID." in response.content.decode()
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    data = per_client_data(page, {leaver_firm.acme: leaver_firm.dana}, client_ids="1,x")
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(response, "client_ids") == ["invalid_client_ids"]
    assert "The form was damaged. Open User Transfer again." in response.content.decode()
    data = per_client_data(
        page, {leaver_firm.acme: leaver_firm.dana}, **{f"client-{leaver_firm.bolt.pk}": "x"}
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data)
    assert codes(response) == ["invalid_assignment"]
    bolt_row = next(r for r in response.context["rows"] if r["client"] == leaver_firm.bolt)
    assert bolt_row["error"] == "Choose a user from the list."
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_transfer_all_page_query_budget_with_many_eligible_users(
    admin_http, leaver_firm, django_assert_max_num_queries
):
    users = bulk_users_ensure([f"many{i:04d}" for i in range(500)], [groups.ATTORNEYS])
    with django_assert_max_num_queries(9):
        response = admin_http.get(all_url(leaver_firm.leaver))
    assert len(response.context["form"].fields["new_user"].choices) == len(users) + 3


# --- shares revoked by a deactivating transfer --------------------------------


def shares_on_other_clients(leaver_firm):
    """Two shares of Sam's on Dune, a client of Marcus's Sam holds nothing under."""
    dune = ClientFactory(name="Dune Partners", number="C-00009", owner=leaver_firm.marcus)
    ClientShareFactory(content_object=dune, user=leaver_firm.leaver)
    ClientShareFactory(
        content_object=dune, user=leaver_firm.leaver, permission=permission("change_client")
    )
    return dune


def test_the_forms_say_beforehand_what_deactivation_revokes(admin_http, leaver_firm):
    shares_on_other_clients(leaver_firm)
    page = admin_http.get(per_client_url(leaver_firm.leaver)).content.decode()
    assert "<dd>3 explicit shares</dd>" in page
    # The sentence describes the checkbox it concerns.
    assert 'aria-describedby="id_deactivate_old_user_helptext"' in page
    helptext = re.search(r'id="id_deactivate_old_user_helptext">([^<]*)<', page).group(1)
    assert helptext == (
        "The account is deactivated in the same step, once it owns nothing. "
        "2 shares on other clients will be revoked: only the shares within the clients above move."
    )
    # User Transfer All moves every share: none is revoked.
    page = admin_http.get(all_url(leaver_firm.leaver)).content.decode()
    assert "The 3 shares go to the new user: none is revoked." in page
    assert "will be revoked" not in page


def test_a_user_with_no_share_elsewhere_is_told_nothing_about_revoking(admin_http, leaver_firm):
    page = admin_http.get(per_client_url(leaver_firm.leaver)).content.decode()
    assert "<dd>1 explicit share</dd>" in page
    assert "revoked" not in page


def test_a_deactivating_save_lists_the_revoked_shares_and_revert_gives_them_back(
    admin_http, leaver_firm, django_assert_max_num_queries
):
    dune = shares_on_other_clients(leaver_firm)
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    assignments = {c: leaver_firm.dana for c in (leaver_firm.acme, leaver_firm.bolt)}
    data = per_client_data(
        page, {**assignments, leaver_firm.crane: leaver_firm.marcus}, deactivate_old_user="on"
    )
    response = admin_http.post(per_client_url(leaver_firm.leaver), data, follow=True)
    transfer = Transfer.objects.get()
    assert messages_of(response)[0].endswith(
        "Sam Leaver was deactivated. 2 shares on other clients were revoked."
    )
    html = response.content.decode()
    assert '<dt>Shares revoked</dt><dd><a href="#revoked-shares">' in html
    section = html[html.index('<h2 id="revoked-shares">') :]
    section = section[: section.index("</section>")]
    dune_link = f'<a href="{reverse("clients:client_detail", args=[dune.pk])}">Dune Partners</a>'
    assert section.count(dune_link) == 2
    assert "Can view client" in section and "Can change client" in section
    assert section.count('<td data-label="Revoked from">Sam Leaver</td>') == 2
    # The list of revoked shares costs its count and its page, whatever its length.
    with django_assert_max_num_queries(RECEIPT_BUDGET + 2):
        admin_http.get(transfer.get_absolute_url())
    # What moved is counted and listed as before: the revoked shares apart.
    assert response.context["page_obj"].paginator.count == 9
    assert transfer.record_counts.shares == 1
    # The CSV has them, marked revoked, with nobody receiving them.
    content = b"".join(
        admin_http.get(reverse("transfers:transfer_csv", args=[transfer.pk])).streaming_content
    ).decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(content))
    revoked = [dict(zip(header, row, strict=True)) for row in rows if row[-1] == "yes"]
    assert {(r["record_name"], r["permission"], r["from_user"], r["to_user"]) for r in revoked} == {
        ("Dune Partners", "view_client", "Sam Leaver", ""),
        ("Dune Partners", "change_client", "Sam Leaver", ""),
    }
    user_page = reverse("transfers:user_page", args=[leaver_firm.leaver.pk])
    assert "<li>0 explicit shares</li>" in admin_http.get(user_page).content.decode()
    history = admin_http.get(reverse("clients:client_detail", args=[dune.pk])).content.decode()
    assert "Share (Can view client) of Sam Leaver revoked by Olivia Grant" in history

    confirm = admin_http.get(reverse("transfers:transfer_revert_confirm", args=[transfer.pk]))
    assert "The 2 shares on other clients it revoked are given back." in confirm.content.decode()
    assert confirm.context["changed_count"] == 0
    response = admin_http.post(
        reverse("transfers:transfer_revert", args=[transfer.pk]),
        {"request_key": confirm.context["request_key"]},
        follow=True,
    )
    assert "2 shares on other clients were given back." in messages_of(response)[0]
    html = response.content.decode()
    assert '<h2 id="revoked-shares">Shares given back</h2>' in html
    assert html.count('<td data-label="Given back to">Sam Leaver</td>') == 2
    assert "<li>3 explicit shares</li>" in admin_http.get(user_page).content.decode()
    history = admin_http.get(reverse("clients:client_detail", args=[dune.pk])).content.decode()
    assert "Share (Can view client) given back to Sam Leaver by Olivia Grant" in history


def test_the_preview_says_what_deactivation_would_revoke(admin_http, leaver_firm):
    shares_on_other_clients(leaver_firm)
    page = admin_http.get(per_client_url(leaver_firm.leaver))
    assignments = {c: leaver_firm.dana for c in (leaver_firm.acme, leaver_firm.bolt)}
    data = per_client_data(
        page,
        {**assignments, leaver_firm.crane: leaver_firm.marcus},
        deactivate_old_user="on",
        action="preview",
    )
    html = admin_http.post(per_client_url(leaver_firm.leaver), data).content.decode()
    assert "Sam Leaver would be deactivated, and 2 shares on other clients revoked." in html
    assert Transfer.objects.count() == 0


def test_a_revoked_share_whose_record_went_is_left_alone_by_the_revert_and_says_so(
    admin_http, administrator, leaver_firm
):
    from transfers.engine.services import records_transfer_per_client, transfer_revert

    dune = shares_on_other_clients(leaver_firm)
    transfer = records_transfer_per_client(
        acting_user=administrator,
        old_user=leaver_firm.leaver,
        assignments={
            leaver_firm.acme.pk: leaver_firm.dana,
            leaver_firm.bolt.pk: leaver_firm.dana,
            leaver_firm.crane.pk: leaver_firm.marcus,
        },
        deactivate_old_user=True,
    ).transfer
    Client.objects.filter(pk=dune.pk).delete()
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    assert revert.revoked_share_count == 0 and revert.skipped_count == 2
    html = admin_http.get(revert.get_absolute_url()).content.decode()
    left_alone = html[html.index('<h2 id="left-alone">') :]
    assert left_alone.count('<span class="muted">Nobody: revoked</span>') == 2
    assert '<th scope="col">Permission</th>' in left_alone
    assert 'id="revoked-shares"' not in html
