"""API tokens: Settings › API tokens, the command, hashing, revocation."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from integrations.models import ApiToken

pytestmark = pytest.mark.django_db


def test_settings_page_links_creates_shows_once_and_revokes(admin_http, administrator):
    assert (
        'href="/settings/api-tokens/"' in admin_http.get(reverse("users:settings")).content.decode()
    )
    url = reverse("integrations:apitoken_list")
    response = admin_http.post(url, {"name": "Okta provisioning", "scope": "scim"})
    assert response.status_code == 302 and response["Location"] == url
    response = admin_http.get(url)
    secret = response.context["secret"]
    assert secret.startswith("ce_") and secret in response.content.decode()
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.name, token.prefix, token.digest}
    assert (token.created_by, token.scope) == (administrator, "scim")
    assert secret not in admin_http.get(url).content.decode()  # shown once

    ok = admin_http.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert ok.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None

    assert (
        admin_http.post(reverse("integrations:apitoken_revoke", args=[token.pk])).status_code == 302
    )
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by_name == "Olivia Grant"
    refused = admin_http.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert refused.status_code == 401


def test_bad_input_on_the_page_changes_nothing(admin_http):
    url = reverse("integrations:apitoken_list")
    response = admin_http.post(url, {"name": "", "scope": "everything"})
    assert response.status_code == 400
    response = admin_http.post(url, {"name": "x", "scope": "scim", "expires_at": "2001-01-01"})
    assert response.status_code == 400
    assert "The expiry must be in the future." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_only_administrators_see_the_page(signed_in, manager):
    client = signed_in(manager)
    assert client.get(reverse("integrations:apitoken_list")).status_code == 403
    assert (
        client.post(
            reverse("integrations:apitoken_list"), {"name": "x", "scope": "scim"}
        ).status_code
        == 403
    )
    assert not ApiToken.objects.exists()


def test_command_prints_the_token_once(administrator, manager):
    out, err = StringIO(), StringIO()
    call_command(
        "api_token_create",
        "--name",
        "Entra",
        "--scope",
        "scim",
        "--expires",
        "2099-12-31",
        "--by",
        administrator.username,
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert token.expires_at.date().isoformat() == "2099-12-31"
    assert "shown this once" in err.getvalue()
    with pytest.raises(CommandError, match="administrators only"):
        call_command("api_token_create", "--name", "x", "--scope", "scim", "--by", manager.username)
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(
            "api_token_create",
            "--name",
            "x",
            "--scope",
            "scim",
            "--expires",
            "tomorrow",
            "--by",
            administrator.username,
        )
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token_create", "--name", "x", "--scope", "scim", "--by", "nobody")
    assert ApiToken.objects.count() == 1
