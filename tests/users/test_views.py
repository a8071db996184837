"""Settings page and User Registration (grid, Add, Edit) through the test client."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clients.models import Client
from tests.factories import (
    TEST_PASSWORD,
    CaseFactory,
    ClientFactory,
    MatterFactory,
    OwnerFactory,
    UserFactory,
)
from users import groups
from users.models import User

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "Quill-Harbour-7731"
# Measured: 7 (session, user, 2 permission loads, count, page, groups prefetch).
GRID_QUERY_BUDGET = 8


def error_codes(response, field):
    form = response.context["form"]
    return [error.code for error in form.errors.as_data().get(field, [])]


# --- permission matrix -------------------------------------------------------


def settings_urls(target):
    return [
        reverse("users:settings"),
        reverse("users:user_list"),
        reverse("users:user_create"),
        reverse("users:user_update", args=[target.pk]),
    ]


def test_anonymous_users_are_sent_to_sign_in(client):
    target = UserFactory()
    for url in settings_urls(target):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


@pytest.mark.parametrize("role", ["attorney", "paralegal", "manager"])
def test_staff_without_user_permissions_get_403(request, client, role):
    client.force_login(request.getfixturevalue(role))
    target = UserFactory()
    for url in settings_urls(target):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("users:user_create"), {}).status_code == 403
    assert client.post(reverse("users:user_update", args=[target.pk]), {}).status_code == 403


def test_administrator_gets_every_settings_page(admin_http):
    target = UserFactory()
    for url in settings_urls(target):
        assert admin_http.get(url).status_code == 200, url


def test_viewing_users_without_add_or_change_permission(client):
    viewer = UserFactory()
    viewer.user_permissions.add(
        *Group.objects.get(name=groups.ADMINISTRATORS).permissions.filter(codename="view_user")
    )
    client.force_login(viewer)
    response = client.get(reverse("users:user_list"))
    assert response.status_code == 200
    assert b">Add<" not in response.content
    assert client.get(reverse("users:user_create")).status_code == 403
    assert client.get(reverse("users:user_update", args=[viewer.pk])).status_code == 403


def test_gear_icon_only_for_users_allowed_into_settings(client, administrator, attorney):
    client.force_login(attorney)
    assert b'aria-label="Settings"' not in client.get(reverse("home")).content
    client.force_login(administrator)
    assert b'aria-label="Settings"' in client.get(reverse("home")).content


# --- Settings page -----------------------------------------------------------


def test_settings_page_links_user_registration_and_transfer_history(admin_http):
    response = admin_http.get(reverse("users:settings"))
    html = response.content.decode()
    assert "<h1>Settings</h1>" in html
    assert ">User</h2>" in html
    assert f'<a href="{reverse("users:user_list")}">User Registration</a>' in html
    assert f'<a href="{reverse("transfers:transfer_list")}">Transfer History</a>' in html


# --- User Registration grid --------------------------------------------------


def test_grid_shows_groups_status_workload_and_action_menu(admin_http):
    owner = OwnerFactory(first_name="Dana", last_name="Reyes", username="dana.r")
    matter = MatterFactory(client=ClientFactory(owner=owner), owner=owner)
    CaseFactory(matter=matter, owner=owner)
    CaseFactory(matter=matter, owner=owner)
    UserFactory(first_name="Ina", last_name="Active", is_active=False)

    response = admin_http.get(reverse("users:user_list"))
    html = response.content.decode()
    assert "<h1>User Registration</h1>" in html
    assert f'<a class="button primary" href="{reverse("users:user_create")}">Add</a>' in html
    assert '<label for="id_q">Search users</label>' in html
    page_url = reverse("transfers:user_page", args=[owner.pk])
    row = re.search(
        rf'<tr>\s*<th scope="row"><a href="{page_url}">Dana Reyes</a></th>.*?</tr>', html, re.S
    ).group(0)
    assert "Attorneys" in row
    assert "Active" in row
    clients_url = reverse("clients:client_list") + f"?owner={owner.pk}"
    matters_url = reverse("clients:matter_list") + f"?owner={owner.pk}"
    cases_url = reverse("clients:case_list") + f"?owner={owner.pk}"
    assert re.search(rf'href="{re.escape(clients_url)}"[^>]*>1</a>', row)
    assert re.search(rf'href="{re.escape(matters_url)}"[^>]*>1</a>', row)
    assert re.search(rf'href="{re.escape(cases_url)}"[^>]*>2</a>', row)
    assert re.search(
        r'<button type="button" class="action-button" aria-label="Actions for Dana Reyes"'
        r' aria-expanded="false" aria-controls="actions-\d+">',
        row,
    )
    assert f'<a href="{reverse("users:user_update", args=[owner.pk])}">Edit</a>' in row
    assert (
        f'<a href="{reverse("transfers:transfer_all", args=[owner.pk])}">User Transfer All</a>'
        in row
    )
    assert (
        f'<a href="{reverse("transfers:transfer_per_client", args=[owner.pk])}">User Transfer</a>'
        in row
    )
    inactive_row = re.search(r">Ina Active</a></th>.*?</tr>", html, re.S).group(0)
    assert "badge-inactive" in inactive_row


@pytest.mark.parametrize("query", ["Dana Reyes", "reyes", "dana.r", "dana@firm.example"])
def test_search_over_name_username_and_email(admin_http, query):
    UserFactory(first_name="Dana", last_name="Reyes", username="dana.r", email="dana@firm.example")
    UserFactory(first_name="Marcus", last_name="Hale", username="marcus.h")
    response = admin_http.get(reverse("users:user_list"), {"q": query})
    names = [user.full_name for user in response.context["users"]]
    assert names == ["Dana Reyes"]


def test_status_filter(admin_http, administrator):
    UserFactory(first_name="Ina", last_name="Gone", is_active=False)
    UserFactory(first_name="Al", last_name="Here")
    url = reverse("users:user_list")

    def names(status):
        return {u.full_name for u in admin_http.get(url, {"status": status}).context["users"]}

    assert names("inactive") == {"Ina Gone"}
    assert names("active") == {"Al Here", administrator.full_name}
    assert names("all") == {"Ina Gone", "Al Here", administrator.full_name}
    assert names("") == names("all")


def test_grid_is_paginated(admin_http, many_users):
    many_users(120)
    url = reverse("users:user_list")
    first = admin_http.get(url, {"status": "all"})
    assert len(first.context["users"]) == 50
    assert "Page 1 of 3" in first.content.decode()
    last = admin_http.get(url, {"status": "all", "page": 3})
    assert len(last.context["users"]) == 121 - 100
    assert admin_http.get(url, {"page": 99}).status_code == 404
    assert admin_http.get(url, {"page": "x"}).status_code == 404


def test_grid_query_budget_holds_with_2000_users(
    admin_http, many_users, django_assert_max_num_queries
):
    users = many_users(2000)
    ClientFactory.create_batch(3, owner=OwnerFactory())
    Client.objects.update(owner=users[2])
    Group.objects.get(name=groups.ATTORNEYS).user_set.add(users[2])
    url = reverse("users:user_list")
    with django_assert_max_num_queries(GRID_QUERY_BUDGET):
        response = admin_http.get(url)
    assert response.status_code == 200
    assert response.context["paginator"].count == 2002
    with django_assert_max_num_queries(GRID_QUERY_BUDGET):
        response = admin_http.get(url, {"q": "bulk", "status": "active", "page": 20})
    assert response.status_code == 200


# --- Add ---------------------------------------------------------------------


def test_add_creates_a_user_with_groups_and_password(admin_http):
    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    response = admin_http.post(
        reverse("users:user_create"),
        {
            "username": "sara.lind",
            "first_name": "Sara",
            "last_name": "Lind",
            "email": "sara@firm.example",
            "groups": [attorneys.pk],
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
        follow=True,
    )
    user = User.objects.get(username="sara.lind")
    assert user.full_name == "Sara Lind"
    assert user.email == "sara@firm.example"
    assert list(user.groups.all()) == [attorneys]
    assert user.check_password(STRONG_PASSWORD)
    assert user.is_active
    assert "User Sara Lind (sara.lind) was created." in response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("users:user_list"))


def test_add_form_has_labelled_fields(admin_http):
    html = admin_http.get(reverse("users:user_create")).content.decode()
    for field, label in [
        ("username", "Username"),
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("email", "Email address"),
        ("password1", "Password"),
        ("password2", "Password confirmation"),
    ]:
        assert f'<label for="id_{field}">{label}</label>' in html
    assert "<legend>Groups</legend>" in html


@pytest.mark.parametrize(
    ("password1", "password2", "field", "code"),
    [
        (STRONG_PASSWORD, "Other-Password-991", "password2", "password_mismatch"),
        ("short", "short", "password2", "password_too_short"),
        ("password123", "password123", "password2", "password_too_common"),
        ("8817263544", "8817263544", "password2", "password_entirely_numeric"),
        ("saralind-x", "saralind-x", "password2", "password_too_similar"),
    ],
)
def test_add_refuses_bad_passwords(admin_http, password1, password2, field, code):
    response = admin_http.post(
        reverse("users:user_create"),
        {
            "username": "saralind",
            "first_name": "Sara",
            "last_name": "Lind",
            "password1": password1,
            "password2": password2,
        },
    )
    assert response.status_code == 200
    assert code in error_codes(response, field)
    assert not User.objects.filter(username="saralind").exists()


def test_add_refuses_a_taken_username_in_any_case(admin_http):
    UserFactory(username="sara.lind")
    response = admin_http.post(
        reverse("users:user_create"),
        {"username": "Sara.Lind", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
    )
    assert error_codes(response, "username") == ["username_taken"]
    assert User.objects.filter(username__iexact="sara.lind").count() == 1


# --- Edit --------------------------------------------------------------------


def edit_data(user, **changes):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "groups": [group.pk for group in user.groups.all()],
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value not in ("", None)}


def test_edit_changes_details_and_groups(admin_http):
    user = UserFactory(first_name="Sam", last_name="Old", groups=[groups.ATTORNEYS])
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    url = reverse("users:user_update", args=[user.pk])
    page = admin_http.get(url).content.decode()
    assert "<h1>Edit Sam Old</h1>" in page
    assert '<label for="id_is_active">Active</label>' in page
    response = admin_http.post(
        url, edit_data(user, last_name="New", email="sam@new.example", groups=[paralegals.pk])
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.last_name, user.email) == ("New", "sam@new.example")
    assert list(user.groups.all()) == [paralegals]
    assert user.is_active


def test_edit_deactivates_and_activates(admin_http):
    user = UserFactory(first_name="Lea", last_name="Leaver", groups=[groups.ATTORNEYS])
    url = reverse("users:user_update", args=[user.pk])
    response = admin_http.post(url, edit_data(user, is_active=""), follow=True)
    assert "User Lea Leaver was saved and deactivated." in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active
    response = admin_http.post(url, edit_data(user, is_active="on"), follow=True)
    assert "User Lea Leaver was saved and activated." in response.content.decode()
    user.refresh_from_db()
    assert user.is_active


def test_edit_refuses_to_deactivate_own_account(admin_http, administrator):
    url = reverse("users:user_update", args=[administrator.pk])
    response = admin_http.post(url, edit_data(administrator, is_active="", last_name="Changed"))
    assert response.status_code == 200
    assert error_codes(response, "is_active") == ["deactivate_self"]
    assert "You cannot deactivate your own account." in response.content.decode()
    administrator.refresh_from_db()
    assert administrator.is_active
    assert administrator.last_name == "Grant"


def test_edit_refuses_to_deactivate_the_last_superuser(admin_http, superuser):
    url = reverse("users:user_update", args=[superuser.pk])
    response = admin_http.post(url, edit_data(superuser, is_active=""))
    assert error_codes(response, "is_active") == ["last_superuser"]
    superuser.refresh_from_db()
    assert superuser.is_active


def test_edit_refuses_to_deactivate_an_owner_of_records(admin_http):
    owner = OwnerFactory(first_name="Dana", last_name="Reyes")
    ClientFactory(owner=owner)
    url = reverse("users:user_update", args=[owner.pk])
    response = admin_http.post(url, edit_data(owner, is_active="", groups=[]))
    assert error_codes(response, "is_active") == ["owns_records"]
    html = response.content.decode()
    assert "Dana Reyes still owns clients, matters or cases." in html
    owner.refresh_from_db()
    assert owner.is_active
    assert owner.groups.filter(name=groups.ATTORNEYS).exists()


def test_unknown_and_non_numeric_user_ids_are_404(admin_http):
    assert admin_http.get(reverse("users:user_update", args=[999999])).status_code == 404
    assert admin_http.get("/settings/users/abc/").status_code == 404
    assert admin_http.post(reverse("users:user_update", args=[999999]), {}).status_code == 404


def test_missing_csrf_token_is_refused(csrf_client):
    user = UserFactory(first_name="Keep", last_name="Me")
    response = csrf_client.post(
        reverse("users:user_update", args=[user.pk]), {"first_name": "Changed"}
    )
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.first_name == "Keep"
    response = csrf_client.post(
        reverse("users:user_create"),
        {"username": "x1", "password1": STRONG_PASSWORD, "password2": STRONG_PASSWORD},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="x1").exists()


def test_new_user_can_sign_in(admin_http, client):
    admin_http.post(
        reverse("users:user_create"),
        {"username": "new.one", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
    )
    client.logout()
    assert client.login(username="new.one", password=TEST_PASSWORD)


def test_permission_is_checked_before_the_user_is_looked_up(client, attorney):
    client.force_login(attorney)
    assert client.get(reverse("users:user_update", args=[999999])).status_code == 403
    assert client.post(reverse("users:user_update", args=[999999]), {}).status_code == 403
