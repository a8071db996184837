"""The side doors around the ownership rules, one test per path that used to
go around them: the admin's user form, ensure_admin, the settings Edit form's
groups, the admin's record forms and share pages, and sign-in throttling
across usernames. tests/test_every_door.py walks every door generically."""

import re
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse

from clients import admin as clients_admin
from clients.models import Case, Client
from clients.services import record_owner_change
from tests.factories import TEST_PASSWORD, CaseFactory, OwnerFactory, UserFactory
from users import groups
from users.models import User

pytestmark = pytest.mark.django_db

OWNS_RECORDS = (
    "Dana Reyes still owns clients, matters or cases. Transfer them to another user first."
)


@pytest.fixture
def owner(db):
    """Dana Reyes, an attorney who owns a client, a matter and a case."""
    dana = OwnerFactory(username="dana.reyes", first_name="Dana", last_name="Reyes")
    CaseFactory(matter__client__owner=dana, matter__owner=dana, owner=dana)
    return dana


def user_admin_form(user: User, **changes) -> dict:
    """The admin's user change form as the browser would post it, unchanged."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [str(pk) for pk in user.user_permissions.values_list("pk", flat=True)],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def transfer_all_url(user: User) -> str:
    return reverse("transfers:transfer_all", kwargs={"user_pk": user.pk})


# --- is_active through user_set_active at every door ---------------------------


def test_admin_user_form_refuses_to_deactivate_an_owner(admin_http, owner):
    url = reverse("admin:users_user_change", args=[owner.pk])
    response = admin_http.post(url, user_admin_form(owner, is_active=""))
    assert response.status_code == 200  # the form again
    html = response.content.decode()
    assert OWNS_RECORDS in html
    assert f'<a href="{transfer_all_url(owner)}">User Transfer All for Dana Reyes</a>' in html
    owner.refresh_from_db()
    assert owner.is_active


def test_admin_user_form_refuses_to_take_the_last_owning_group_from_an_owner(admin_http, owner):
    url = reverse("admin:users_user_change", args=[owner.pk])
    managers = Group.objects.get(name=groups.MANAGERS)
    response = admin_http.post(url, user_admin_form(owner, groups=[str(managers.pk)]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Dana Reyes still owns clients, matters or cases, so" in html
    assert f'<a href="{transfer_all_url(owner)}">User Transfer All for Dana Reyes</a>' in html
    assert list(owner.groups.values_list("name", flat=True)) == [groups.ATTORNEYS]


def test_settings_edit_refuses_to_take_the_last_owning_group_from_an_owner(admin_http, owner):
    managers = Group.objects.get(name=groups.MANAGERS)
    response = admin_http.post(
        reverse("users:user_update", args=[owner.pk]),
        {
            "first_name": "Dana",
            "last_name": "Reyes",
            "email": owner.email,
            "groups": [managers.pk],
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    codes = [e.code for e in response.context["form"].errors.as_data()["groups"]]
    assert codes == ["owner_permission_removed"]
    errors = re.search(
        r'<ul class="errorlist" id="id_groups_error">(.*?)</ul>', response.content.decode(), re.S
    ).group(1)
    assert "Dana Reyes still owns clients, matters or cases, so" in errors
    assert f'<a href="{transfer_all_url(owner)}">User Transfer All for Dana Reyes</a>' in errors
    assert list(owner.groups.values_list("name", flat=True)) == [groups.ATTORNEYS]


def test_ensure_admin_reactivates_through_user_set_active_and_records_it(db):
    from users.models import AccountEvent

    former = UserFactory(username="admin", is_active=False)
    call_command("ensure_admin", stdout=StringIO())
    former.refresh_from_db()
    assert former.is_active and former.is_superuser
    kinds = set(AccountEvent.objects.filter(user=former).values_list("kind", flat=True))
    assert kinds == {
        AccountEvent.Kind.REACTIVATED,
        AccountEvent.Kind.GROUPS_CHANGED,  # joined Administrators
        AccountEvent.Kind.ACCESS_CHANGED,  # staff and superuser given
    }


# --- owner changes leave an ownership event -----------------------------------


def test_admin_owner_change_shows_in_the_record_history(admin_http, administrator, owner):
    case = Case.objects.get(owner=owner)
    nina = OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    response = admin_http.post(
        reverse("admin:clients_case_change", args=[case.pk]),
        {
            "matter": case.matter_id,
            "number": case.number,
            "caption": case.caption,
            "court": case.court,
            "status": case.status,
            "owner": nina.pk,
            "owner_seen": owner.pk,
        },
    )
    assert response.status_code == 302
    page = admin_http.get(reverse("clients:case_detail", args=[case.pk])).content.decode()
    assert "Never transferred" not in page
    assert "Owner changed from Dana Reyes to Nina New by Olivia Grant" in page


def test_record_owner_change_service_records_an_event(administrator, owner):
    from clients.selectors import record_ownership_history

    client = Client.objects.get(owner=owner)
    nina = OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    record_owner_change(acting_user=administrator, record=client, new_owner=nina)
    [event] = record_ownership_history(record=client)
    assert (event.from_name, event.to_name, event.actor_name) == (
        "Dana Reyes",
        "Nina New",
        "Olivia Grant",
    )
    assert event.is_owner_change


# --- admin record creation through the create services ------------------------


def test_admin_record_creation_goes_through_the_create_service(
    admin_http, administrator, owner, monkeypatch
):
    calls = []
    real = clients_admin.client_create

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(clients_admin, "client_create", spy)
    response = admin_http.post(
        reverse("admin:clients_client_add"),
        {
            "number": "C-99999",
            "name": "Adler GmbH",
            "kind": "organisation",
            "status": "active",
            "owner": owner.pk,
        },
    )
    assert response.status_code == 302
    assert [(c["acting_user"], c["owner"].pk, c["number"]) for c in calls] == [
        (administrator, owner.pk, "C-99999")
    ]
    assert Client.objects.get(number="C-99999").owner == owner


# --- the admin's share pages check is_active ------------------------------------


@pytest.mark.parametrize(
    "view", ["obj_perms_manage_view", "obj_perms_manage_user_view", "obj_perms_manage_group_view"]
)
def test_admin_share_pages_refuse_an_inactive_administrator(owner, view):
    inactive = UserFactory(username="gone.root", is_superuser=True, is_staff=True, is_active=False)
    client = Client.objects.get(owner=owner)
    request = RequestFactory().get("/admin/")
    request.user = inactive
    model_admin = admin.site._registry[Client]
    args = {
        "obj_perms_manage_view": (str(client.pk),),
        "obj_perms_manage_user_view": (str(client.pk), str(owner.pk)),
        "obj_perms_manage_group_view": (str(client.pk), "1"),
    }[view]
    with pytest.raises(PermissionDenied):
        getattr(model_admin, view)(request, *args)


# --- sign-in throttling across usernames ---------------------------------------


def test_one_address_cannot_guess_across_many_usernames(attorney):
    browser = HttpClient(REMOTE_ADDR="198.51.100.7")
    limit = 50  # failures per address across usernames in one cool-off window
    for number in range(limit):
        response = browser.post(
            reverse("login"), {"username": f"guess{number}", "password": "wrong"}
        )
        assert response.status_code in (200, 429)
    response = browser.post(
        reverse("login"), {"username": attorney.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    # Another address is not affected.
    other = HttpClient(REMOTE_ADDR="198.51.100.8")
    response = other.post(
        reverse("login"), {"username": attorney.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
