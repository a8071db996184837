"""The Django admin for corrections: owner validation and logging through the
record service, list filters and search, owner autocomplete, guardian's
share pages restricted, transfer receipts read-only, no facets."""

import json

import pytest
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from clients import admin as clients_admin
from clients.models import Case, Client, Matter
from tests.factories import CaseFactory, UserFactory
from transfers.models import Transfer, TransferredRecord

pytestmark = pytest.mark.django_db


def _client_form(record: Client, **changes) -> dict:
    data = {
        "number": record.number,
        "name": record.name,
        "kind": record.kind,
        "email": record.email,
        "phone": record.phone,
        "address": record.address,
        "status": record.status,
        "owner": record.owner_id,
    }
    data.update(changes)
    return data


def _change_url(record) -> str:
    meta = record._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])


def test_admin_owner_change_to_an_eligible_user_is_made_through_the_service_and_logged(
    admin_http, administrator, attorney_firm, monkeypatch
):
    calls = []
    real = clients_admin.record_owner_change

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(clients_admin, "record_owner_change", spy)
    response = admin_http.post(
        _change_url(attorney_firm.hoffmann),
        _client_form(
            attorney_firm.hoffmann, owner=attorney_firm.marcus.pk, status=Client.Status.FORMER
        ),
    )
    assert response.status_code == 302
    attorney_firm.hoffmann.refresh_from_db()
    assert attorney_firm.hoffmann.owner == attorney_firm.marcus
    assert attorney_firm.hoffmann.status == Client.Status.FORMER
    assert [(c["acting_user"], c["record"].pk, c["new_owner"]) for c in calls] == [
        (administrator, attorney_firm.hoffmann.pk, attorney_firm.marcus)
    ]
    entry = LogEntry.objects.get(object_id=str(attorney_firm.hoffmann.pk), action_flag=CHANGE)
    assert entry.user == administrator
    assert entry.get_change_message() == (
        f"Changed owner from Dana Reyes (#{attorney_firm.dana.pk}) "
        f"to Marcus Hale (#{attorney_firm.marcus.pk}). Changed Status."
    )


@pytest.mark.parametrize(
    ("new_owner", "code_text"),
    [
        ("former", "Frank Former is inactive and cannot be given records."),
        ("manager", "Helen Ward is not allowed to own clients, matters or cases."),
    ],
)
def test_admin_refuses_inactive_or_ineligible_owner(
    admin_http, attorney_firm, manager, new_owner, code_text
):
    user = manager if new_owner == "manager" else attorney_firm.former
    response = admin_http.post(
        _change_url(attorney_firm.hoffmann), _client_form(attorney_firm.hoffmann, owner=user.pk)
    )
    assert response.status_code == 200  # the form again, with the error
    assert code_text in response.content.decode()
    attorney_firm.hoffmann.refresh_from_db()
    assert attorney_firm.hoffmann.owner == attorney_firm.dana
    assert not LogEntry.objects.exists()


def test_admin_refusal_under_the_lock_changes_nothing(admin_http, attorney_firm, monkeypatch):
    """The owner is deactivated between the form's check and the locked write."""

    def refuse(**kwargs):
        raise ValidationError("Marcus Hale is inactive and cannot be given records.")

    monkeypatch.setattr(clients_admin, "record_owner_change", refuse)
    response = admin_http.post(
        _change_url(attorney_firm.hoffmann),
        _client_form(
            attorney_firm.hoffmann, owner=attorney_firm.marcus.pk, name="Hoffmann Foods Ltd"
        ),
        follow=True,
    )
    assert "Marcus Hale is inactive and cannot be given records." in response.content.decode()
    attorney_firm.hoffmann.refresh_from_db()
    assert (attorney_firm.hoffmann.owner, attorney_firm.hoffmann.name) == (
        attorney_firm.dana,
        "Hoffmann Foods",
    )
    assert not LogEntry.objects.exists()


def test_admin_save_without_owner_change_writes_only_the_changed_fields(
    admin_http, attorney_firm, monkeypatch
):
    """No owner change: the service is not called, the log names only the name."""
    monkeypatch.setattr(clients_admin, "record_owner_change", None)  # would fail if called
    response = admin_http.post(
        _change_url(attorney_firm.hoffmann),
        _client_form(attorney_firm.hoffmann, name="Hoffmann Foods plc"),
    )
    assert response.status_code == 302
    attorney_firm.hoffmann.refresh_from_db()
    assert (attorney_firm.hoffmann.owner, attorney_firm.hoffmann.name) == (
        attorney_firm.dana,
        "Hoffmann Foods plc",
    )
    entry = LogEntry.objects.get()
    assert json.loads(entry.change_message) == [{"changed": {"fields": ["Name"]}}]


def test_admin_case_owner_change_and_matter_change(admin_http, attorney_firm):
    case = attorney_firm.hoffmann_case
    response = admin_http.post(
        _change_url(case),
        {
            "matter": attorney_firm.brandt_matter.pk,
            "number": case.number,
            "caption": case.caption,
            "court": case.court,
            "status": case.status,
            "owner": attorney_firm.marcus.pk,
        },
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.owner, case.matter, case.client) == (
        attorney_firm.marcus,
        attorney_firm.brandt_matter,
        attorney_firm.brandt,
    )


@pytest.mark.parametrize("model", [Client, Matter, Case], ids=lambda m: m.__name__)
def test_admin_changelists_filter_by_owner_and_status_and_search(admin_http, attorney_firm, model):
    url = reverse(f"admin:clients_{model._meta.model_name}_changelist")
    response = admin_http.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Frank Former (inactive)" in html  # the owner filter lists every user
    response = admin_http.get(
        url, {"owner__id__exact": attorney_firm.marcus.pk, "status__exact": ""}
    )
    assert response.status_code == 200
    response = admin_http.get(url, {"q": "Brandt"})
    assert response.status_code == 200
    assert "Brandt" in response.content.decode()


@pytest.mark.parametrize("model", [Client, Matter, Case], ids=lambda m: m.__name__)
def test_admin_large_tables_have_no_facets_and_no_full_counts(model):
    model_admin = admin.site._registry[model]
    assert model_admin.show_facets is admin.ShowFacets.NEVER
    assert model_admin.show_full_result_count is False
    assert model_admin.autocomplete_fields[0] == "owner"


def test_owner_autocomplete_offers_only_eligible_users(admin_http, attorney_firm, manager):
    response = admin_http.get(
        reverse("admin:autocomplete"),
        {"app_label": "clients", "model_name": "client", "field_name": "owner", "term": ""},
    )
    names = {item["text"] for item in response.json()["results"]}
    assert {"Dana Reyes", "Marcus Hale"} <= names
    assert "Frank Former" not in names  # inactive
    assert "Helen Ward" not in names  # a manager may not own records


# --- guardian's object-permission pages ------------------------------------------


@pytest.fixture
def record_editor(db):
    """Staff who may change clients but not manage their shares."""
    user = UserFactory(username="rita.editor", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="clients", codename__in=["view_client", "change_client"]
        )
    )
    return user


def _share_url(record, page="", other=None) -> str:
    meta = record._meta
    name = f"admin:{meta.app_label}_{meta.model_name}_permissions{page}"
    return reverse(name, args=[record.pk] if other is None else [record.pk, other])


@pytest.mark.parametrize("page", ["", "_manage_user", "_manage_group"])
def test_share_pages_are_refused_to_users_who_may_not_manage_shares(
    client, record_editor, attorney_firm, page
):
    client.force_login(record_editor)
    assert client.get(_change_url(attorney_firm.hoffmann)).status_code == 200  # may edit the record
    other = {"": None, "_manage_user": attorney_firm.dana.pk, "_manage_group": 1}[page]
    url = _share_url(attorney_firm.hoffmann, page, other)
    assert client.get(url).status_code == 403
    assert client.post(url, {"permissions": ["view_client"]}).status_code == 403
    assert (
        "Object permissions" not in client.get(_change_url(attorney_firm.hoffmann)).content.decode()
    )


def test_share_pages_open_for_administrators(admin_http, attorney_firm):
    assert admin_http.get(_share_url(attorney_firm.hoffmann)).status_code == 200
    assert (
        "Object permissions" in admin_http.get(_change_url(attorney_firm.hoffmann)).content.decode()
    )
    user_url = _share_url(attorney_firm.hoffmann, "_manage_user", attorney_firm.marcus.pk)
    assert admin_http.get(user_url).status_code == 200
    response = admin_http.post(user_url, {"permissions": ["view_client"]})
    assert response.status_code == 302
    assert attorney_firm.hoffmann.clientuserobjectpermission_set.filter(
        user=attorney_firm.marcus, permission__codename="view_client"
    ).exists()


def test_no_share_is_given_to_an_inactive_user(admin_http, attorney_firm):
    """A deactivating transfer revokes every share the leaver keeps; the share
    pages do not give one back: not by picking the user, not by their own page."""
    from users.models import User

    record, marcus = attorney_firm.hoffmann, attorney_firm.marcus
    shares = record.clientuserobjectpermission_set
    user_url = _share_url(record, "_manage_user", marcus.pk)
    assert admin_http.post(user_url, {"permissions": ["view_client"]}).status_code == 302
    User.objects.filter(pk=marcus.pk).update(is_active=False)
    refusal = f"{marcus.full_name} is inactive: shares are not given to inactive users."

    picked = admin_http.post(
        _share_url(record), {"user": marcus.username, "submit_manage_user": "Manage user"}
    )
    assert picked.status_code == 200 and refusal in picked.content.decode()

    added = admin_http.post(user_url, {"permissions": ["view_client", "change_client"]})
    assert added.status_code == 200 and refusal in added.content.decode()
    assert set(shares.filter(user=marcus).values_list("permission__codename", flat=True)) == {
        "view_client"
    }


def test_share_pages_open_for_superusers(client, superuser, attorney_firm):
    client.force_login(superuser)
    assert client.get(_share_url(attorney_firm.brandt_case)).status_code == 200


# --- receipts ---------------------------------------------------------------------


def test_transfer_records_are_read_only_in_the_admin(
    client, superuser, attorney_firm, administrator
):
    client.force_login(superuser)
    admin_http = client
    transfer = Transfer.objects.create(
        mode=Transfer.Mode.ALL, actor=administrator, actor_name="Olivia Grant"
    )
    moved = TransferredRecord.objects.create(
        transfer=transfer,
        record_type="client",
        record_id=attorney_firm.hoffmann.pk,
        to_user=attorney_firm.marcus,
    )
    url = reverse("admin:transfers_transferredrecord_change", args=[moved.pk])
    assert admin_http.get(url).status_code == 200  # viewable
    response = admin_http.post(url, {"record_id": 1})
    assert response.status_code == 403
    moved.refresh_from_db()
    assert moved.record_id == attorney_firm.hoffmann.pk
    add = reverse("admin:transfers_transferredrecord_add")
    assert admin_http.get(add).status_code == 403


def client_add(http, **fields):
    """POST the admin's Add client form: a person, active, with `fields`."""
    return http.post(
        reverse("admin:clients_client_add"), {"kind": "person", "status": "active", **fields}
    )


def test_owner_of_a_new_record_is_validated_in_the_admin(admin_http, attorney_firm):
    response = client_add(
        admin_http, number="C-09999", name="New Client", owner=attorney_firm.former.pk
    )
    assert response.status_code == 200
    assert "Frank Former is inactive" in response.content.decode()
    assert not Client.objects.filter(number="C-09999").exists()


def test_admin_change_form_carries_the_owner_it_was_opened_with(admin_http, attorney_firm):
    response = admin_http.get(_change_url(attorney_firm.hoffmann))
    assert (
        f'<input type="hidden" name="owner_seen" value="{attorney_firm.dana.pk}" '
        'id="id_owner_seen">' in response.content.decode()
    )


@pytest.mark.parametrize("submitted_owner", ["dana", "priya"])
def test_admin_form_opened_before_a_transfer_cannot_undo_it(
    admin_http, attorney_firm, submitted_owner, monkeypatch
):
    """The form was opened while Dana owned the client; a transfer then gave it
    to Marcus. Saving the stale form (owner unchanged, or another owner) is
    refused with the reason, and nothing is written."""
    monkeypatch.setattr(clients_admin, "record_owner_change", None)  # would fail if called
    Client.objects.filter(pk=attorney_firm.hoffmann.pk).update(owner=attorney_firm.marcus)
    owner = getattr(attorney_firm, submitted_owner, None) or UserFactory(
        groups=["Attorneys"], first_name="Priya", last_name="Natarajan"
    )
    response = admin_http.post(
        _change_url(attorney_firm.hoffmann),
        _client_form(
            attorney_firm.hoffmann,
            owner=owner.pk,
            owner_seen=attorney_firm.dana.pk,
            name="Hoffmann Foods plc",
        ),
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert [error.code for error in form.errors.as_data()["owner"]] == ["owner_changed_since"]
    assert "changed to Marcus Hale" in response.content.decode()
    attorney_firm.hoffmann.refresh_from_db()
    assert (attorney_firm.hoffmann.owner, attorney_firm.hoffmann.name) == (
        attorney_firm.marcus,
        "Hoffmann Foods",
    )
    assert not LogEntry.objects.exists()


def test_admin_form_opened_with_the_current_owner_saves(admin_http, attorney_firm):
    response = admin_http.post(
        _change_url(attorney_firm.hoffmann),
        _client_form(
            attorney_firm.hoffmann, owner=attorney_firm.marcus.pk, owner_seen=attorney_firm.dana.pk
        ),
    )
    assert response.status_code == 302
    attorney_firm.hoffmann.refresh_from_db()
    assert attorney_firm.hoffmann.owner == attorney_firm.marcus


def test_admin_record_pages_and_owner_autocomplete(admin_client):
    case = CaseFactory()
    for model in ("client", "matter", "case"):
        obj = {"client": case.client, "matter": case.matter, "case": case}[model]
        response = admin_client.get(reverse(f"admin:clients_{model}_change", args=[obj.pk]))
        assert response.status_code == 200
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "clients", "model_name": "client", "field_name": "owner", "term": ""},
    )
    assert response.status_code == 200
    assert response.json()["results"]


def test_admin_refuses_an_inactive_owner(admin_client):
    case = CaseFactory()
    inactive = case.owner.__class__.objects.create(username="gone", is_active=False)
    client_obj = case.client
    response = admin_client.post(
        reverse("admin:clients_client_change", args=[client_obj.pk]),
        {
            "number": client_obj.number,
            "name": client_obj.name,
            "kind": client_obj.kind,
            "status": client_obj.status,
            "owner": inactive.pk,
            "email": "",
            "phone": "",
            "address": "",
        },
    )
    assert response.status_code == 200
    assert "inactive and cannot be given records" in response.content.decode()
    client_obj.refresh_from_db()
    assert client_obj.owner_id == case.owner_id


def test_the_admin_refuses_a_duplicate_client_number(admin_http, attorney_firm):
    response = client_add(
        admin_http,
        number=attorney_firm.hoffmann.number,
        name="Another Hoffmann",
        owner=attorney_firm.dana.pk,
    )
    assert response.status_code == 200
    assert "Client with this Number already exists." in response.content.decode()
    assert Client.objects.filter(number=attorney_firm.hoffmann.number).count() == 1
