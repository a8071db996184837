from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import F
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clients.models import Case, Client, Matter
from tests.factories import CaseFactory
from users.models import User

pytestmark = pytest.mark.django_db

# Signing in, and resetting a forgotten password, need no signed-in user.
PASSWORD_RESET_URL_NAMES = {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
PUBLIC_URL_NAMES = {"login"} | PASSWORD_RESET_URL_NAMES


def _named_urls(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_urls(pattern, ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


def _sample_url(name, pattern):
    kwargs = {key: 1 for key in pattern.pattern.converters}
    return reverse(name, kwargs=kwargs)


def test_every_page_but_sign_in_requires_a_signed_in_user(client):
    checked = 0
    for name, pattern in _named_urls():
        if name in PUBLIC_URL_NAMES:
            continue
        url = _sample_url(name, pattern)
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
        checked += 1
    assert checked >= 5


def test_sign_in_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Sign in" in response.content


def test_sign_out_is_a_post(client, attorney):
    client.force_login(attorney)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_header_shows_the_gear_only_to_users_allowed_into_settings(client, attorney, administrator):
    client.force_login(attorney)
    page = client.get(reverse("home")).content.decode()
    assert "Dana Reyes" in page
    assert 'aria-label="Settings"' not in page
    for label in ("Clients", "Matters", "Cases", "Log out"):
        assert label in page
    client.force_login(administrator)
    page = client.get(reverse("home")).content.decode()
    assert 'aria-label="Settings"' in page


def test_seed_demo_is_deterministic_and_idempotent():
    call_command("seed_demo", stdout=StringIO())
    first = {
        model: list(model.objects.order_by("number").values_list("number", "owner__username"))
        for model in (Client, Matter, Case)
    }
    assert (len(first[Client]), len(first[Matter]), len(first[Case])) == (60, 200, 600)
    call_command("seed_demo", stdout=StringIO())
    second = {
        model: list(model.objects.order_by("number").values_list("number", "owner__username"))
        for model in (Client, Matter, Case)
    }
    assert first == second
    assert User.objects.filter(username="dana.reyes").count() == 1
    # Owners are mixed inside clients, so per-client transfers have something to split.
    assert Case.objects.exclude(owner_id=F("matter__owner_id")).exists()


def test_seed_demo_scale_generates_bulk_records():
    call_command("seed_demo", scale=3, stdout=StringIO())
    owner = User.objects.get(username="dana.reyes")
    generated = Client.objects.filter(number__regex=r"^C-\d{7}$", owner=owner)
    assert generated.count() == 3
    assert Matter.objects.filter(client__in=generated).count() == 15
    assert Case.objects.filter(client__in=generated).count() == 75


def test_ensure_admin_creates_then_resets(capsys):
    call_command("ensure_admin")
    first = capsys.readouterr().out
    assert "Username: admin" in first
    password = first.split("Password: ")[1].strip()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)
    call_command("ensure_admin")
    second = capsys.readouterr().out.split("Password: ")[1].strip()
    admin.refresh_from_db()
    assert admin.check_password(second) and second != password


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:index",
        "admin:users_user_changelist",
        "admin:clients_client_changelist",
        "admin:clients_matter_changelist",
        "admin:clients_case_changelist",
        "admin:clients_caseuserobjectpermission_changelist",
        "admin:transfers_transfer_changelist",
        "admin:transfers_transferredrecord_changelist",
    ],
)
def test_admin_pages_load(admin_client, url_name):
    CaseFactory()
    response = admin_client.get(reverse(url_name))
    assert response.status_code == 200


def test_password_reset_pages_are_public_and_send_nothing_for_unknown_addresses(client):
    assert client.get(reverse("password_reset")).status_code == 200
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert client.get(response.url).status_code == 200
    assert client.get(reverse("password_reset_complete")).status_code == 200
    assert mail.outbox == []
