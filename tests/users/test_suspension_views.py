"""Suspend sign-in and Restore sign-in on the settings screens, the states on
User Registration, the Leavers filter and its count on the Settings page."""

from html import unescape

import pytest
from django.urls import reverse

from tests.factories import CaseFactory, ClientFactory, OwnerFactory, UserFactory
from users.models import AccountEvent, User
from users.services import user_sign_in_suspend

pytestmark = pytest.mark.django_db
# As the grid's own budget (tests/users/test_views.py): the state is a column of the same query.
LEAVERS_QUERY_BUDGET = 8


@pytest.fixture
def leaver():
    sam = OwnerFactory(username="sam.okafor", first_name="Sam", last_name="Okafor")
    CaseFactory(matter__client__owner=sam)
    ClientFactory(owner=sam)
    return sam


def suspend_url(user):
    return reverse("users:user_sign_in_suspend", args=[user.pk])


def restore_url(user):
    return reverse("users:user_sign_in_restore", args=[user.pk])


def test_the_action_menu_offers_suspend_then_restore(admin_http, leaver):
    grid = unescape(admin_http.get(reverse("users:user_list"), {"q": "sam"}).content.decode())
    assert f'<a href="{suspend_url(leaver)}">Suspend sign-in</a>' in grid
    assert "Restore sign-in" not in grid
    user_sign_in_suspend(user=leaver, acting_user=None)
    grid = unescape(admin_http.get(reverse("users:user_list"), {"q": "sam"}).content.decode())
    assert f'<a href="{restore_url(leaver)}">Restore sign-in</a>' in grid
    assert ">Suspend sign-in<" not in grid
    assert '<span class="badge badge-suspended">Sign-in suspended</span>' in grid


def test_suspend_confirmation_page_then_post(admin_http, administrator, leaver):
    page = admin_http.get(suspend_url(leaver))
    assert page.status_code == 200
    html = unescape(page.content.decode())
    assert "Suspend sign-in for Sam Okafor" in html
    assert "2 clients, 1 matter, 1 case" in html
    assert 'name="reason"' in html
    response = admin_http.post(suspend_url(leaver), {"reason": "Leaves on Friday"})
    assert response.status_code == 302
    assert response.url == reverse("users:user_list") + "?q=sam.okafor"
    leaver.refresh_from_db()
    assert leaver.sign_in_suspension_reason == "Leaves on Friday"
    event = AccountEvent.objects.get(user=leaver)
    assert (event.kind, event.actor) == ("sign_in_suspended", administrator)
    followed = admin_http.get(response.url)
    assert "Sam Okafor's sign-in was suspended." in unescape(followed.content.decode())


def test_suspending_oneself_is_refused_on_the_page_and_on_post(admin_http, administrator):
    page = unescape(admin_http.get(suspend_url(administrator)).content.decode())
    assert "You cannot suspend your own sign-in." in page
    assert ">Suspend sign-in</button>" not in page
    response = admin_http.post(suspend_url(administrator), {"reason": ""})
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == [
        "suspend_self"
    ]
    administrator.refresh_from_db()
    assert administrator.sign_in_suspended_at is None


def test_a_reason_too_long_is_refused_and_nothing_changes(admin_http, leaver):
    response = admin_http.post(suspend_url(leaver), {"reason": "x" * 501})
    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["reason"]] == ["max_length"]
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None


def test_restore_page_and_its_refusal(admin_http, administrator, leaver):
    response = admin_http.post(restore_url(leaver))
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == [
        "not_suspended"
    ]
    user_sign_in_suspend(user=leaver, acting_user=administrator, reason="Left")
    page = unescape(admin_http.get(restore_url(leaver)).content.decode())
    assert "Restore sign-in for Sam Okafor" in page and "(Left)" in page
    response = admin_http.post(restore_url(leaver))
    assert response.status_code == 302
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None
    assert AccountEvent.objects.filter(user=leaver, kind="sign_in_restored").exists()


@pytest.mark.parametrize("role", ["attorney", "paralegal", "manager"])
def test_staff_without_the_permission_get_403(request, client, role, leaver):
    client.force_login(request.getfixturevalue(role))
    for url in (suspend_url(leaver), restore_url(leaver)):
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": "x"}).status_code == 403
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None


def test_post_without_csrf_token_is_refused(csrf_client, leaver):
    assert csrf_client.post(suspend_url(leaver), {"reason": ""}).status_code == 403
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None


def test_the_user_page_shows_the_suspension_and_its_doors(admin_http, administrator, leaver):
    page_url = reverse("transfers:user_page", args=[leaver.pk])
    assert f'href="{suspend_url(leaver)}">Suspend sign-in</a>' in unescape(
        admin_http.get(page_url).content.decode()
    )
    user_sign_in_suspend(user=leaver, acting_user=administrator, reason="Leaves on Friday")
    html = unescape(admin_http.get(page_url).content.decode())
    assert '<span class="badge badge-suspended">Sign-in suspended</span>' in html
    assert f'href="{restore_url(leaver)}">Restore sign-in</a>' in html
    assert "Sign-in suspended by Olivia Grant" in html
    assert "Reason: Leaves on Friday" in html


def test_states_filter_and_the_leavers_queue(admin_http, administrator, leaver):
    idle = OwnerFactory(username="idle.suspended", first_name="Ida", last_name="Idle")
    UserFactory(username="gone", first_name="Gus", last_name="Gone", is_active=False)
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    user_sign_in_suspend(user=idle, acting_user=administrator)
    url = reverse("users:user_list")

    def names(params):
        return [person.username for person in admin_http.get(url, params).context["users"]]

    assert set(names({"status": "suspended"})) == {"sam.okafor", "idle.suspended"}
    assert names({"status": "inactive"}) == ["gone"]
    assert "sam.okafor" not in names({"status": "active"})
    assert administrator.username in names({"status": "active"})

    response = admin_http.get(url, {"status": "leavers"})
    assert [person.username for person in response.context["users"]] == ["sam.okafor"]
    html = unescape(response.content.decode())
    assert "1 leaver</p>" in html
    summary = '<td class="owns-summary" data-label="Still owns">2 clients, 1 matter, 1 case</td>'
    assert summary in html
    assert '<option value="leavers" selected>Leavers</option>' in html


def test_settings_page_counts_the_leavers_and_links_to_them(admin_http, administrator, leaver):
    settings_url = reverse("users:settings")
    leavers_url = reverse("users:user_list") + "?status=leavers"
    html = unescape(admin_http.get(settings_url).content.decode())
    assert f'<a href="{leavers_url}">Leavers</a>: no leaver owns records' in html
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    other = OwnerFactory()
    ClientFactory(owner=other)
    user_sign_in_suspend(user=other, acting_user=administrator)
    html = unescape(admin_http.get(settings_url).content.decode())
    assert f'<a href="{leavers_url}">Leavers</a>: 2 leavers still own records' in html


def test_leavers_query_budget(admin_http, administrator, many_users, django_assert_max_num_queries):
    users = many_users(200)
    active = [user for user in users if user.is_active][:20]
    for user in active:
        ClientFactory(owner=user)
    User.objects.filter(pk__in=[user.pk for user in active]).update(
        sign_in_suspended_at="2026-12-07T09:00Z"
    )
    with django_assert_max_num_queries(LEAVERS_QUERY_BUDGET):
        response = admin_http.get(reverse("users:user_list"), {"status": "leavers"})
    assert response.context["paginator"].count == 20
    with django_assert_max_num_queries(LEAVERS_QUERY_BUDGET):
        assert admin_http.get(reverse("users:settings")).status_code == 200
