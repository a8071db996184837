"""Security hardening: headers, production settings, sign-in throttling,
error pages, and the sign-in and permission walls around every URL."""

import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.views import defaults

from tests.factories import TEST_PASSWORD, UserFactory
from users import groups

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


# --- Headers -----------------------------------------------------------------


@pytest.mark.parametrize("signed_in", [False, True])
def test_pages_send_a_strict_content_security_policy(client, administrator, signed_in):
    if signed_in:
        client.force_login(administrator)
    response = client.get(reverse("home" if signed_in else "login"))
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_admin_is_under_the_same_policy(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert _policy(response)["frame-ancestors"] == ["'none'"]


def test_pages_send_the_browser_hardening_headers(client, attorney):
    client.force_login(attorney)
    response = client.get(reverse("home"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


INLINE_SCRIPT_OR_STYLE = [
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_templates_have_no_inline_script_or_style():
    """The policy forbids them, so they would silently not work."""
    found = []
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE_SCRIPT_OR_STYLE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(BASE_DIR)}:{line}: {what}")
    assert not found, "\n".join(found)


# --- Production settings -------------------------------------------------------


def _production_env(**extra) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="casengine.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="example.com",
    )
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def _manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


def test_production_settings_are_secure():
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.X_FRAME_OPTIONS)"
    )
    result = _manage("shell", "-c", code, env=_production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["False"] + ["True"] * 7 + ["DENY"]


def test_production_refuses_to_start_without_a_secret_key():
    env = _production_env()
    env.pop("SECRET_KEY")
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


@override_settings(
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_https_responses_carry_hsts_and_secure_httponly_cookies(client, attorney):
    page = client.get(reverse("login"), secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in page["Strict-Transport-Security"]
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] and csrf["httponly"]

    response = client.post(
        reverse("login"), {"username": attorney.username, "password": TEST_PASSWORD}, secure=True
    )
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"


# --- Sign-in throttling ----------------------------------------------------------


def _sign_in(client, username, password, url_name="login"):
    return client.post(reverse(url_name), {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_sign_in_with_a_clear_message(client, attorney):
    limit = settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS
    assert limit == 5
    for _ in range(limit - 1):
        response = _sign_in(client, attorney.username, "wrong")
        assert response.status_code == 200
        assert "enter a correct username and password" in response.content.decode()

    response = _sign_in(client, attorney.username, "wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert '<h1 id="locked-out-heading">Sign-in locked</h1>' in page
    assert f"Too many failed sign-in attempts for {attorney.username}" in page
    assert "locked\n    for 15 minutes" in page
    assert "ask an administrator to unlock the account" in page
    assert "Content-Security-Policy" in response  # our page, rendered like any other

    # Even the right password is refused while locked out.
    response = _sign_in(client, attorney.username, TEST_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client, attorney, paralegal):
    for _ in range(settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS):
        _sign_in(client, attorney.username, "wrong")
    assert _sign_in(client, attorney.username, TEST_PASSWORD).status_code == 429
    # A colleague at the same address can still sign in.
    assert _sign_in(client, paralegal.username, TEST_PASSWORD).status_code == 302
    # The same username from another address is not locked.
    other = Client(REMOTE_ADDR="192.0.2.10")
    assert _sign_in(other, attorney.username, TEST_PASSWORD).status_code == 302


def test_lockout_ends_after_the_cool_off(client, attorney):
    for _ in range(settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS):
        _sign_in(client, attorney.username, "wrong")
    assert _sign_in(client, attorney.username, TEST_PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert _sign_in(client, attorney.username, TEST_PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count(client, attorney):
    for _ in range(settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS - 1):
        _sign_in(client, attorney.username, "wrong")
    assert _sign_in(client, attorney.username, TEST_PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS - 1):
        assert _sign_in(client, attorney.username, "wrong").status_code == 200
    assert _sign_in(client, attorney.username, TEST_PASSWORD).status_code == 302


def test_one_address_is_locked_after_fifty_failures_across_usernames(attorney):
    """Per address, whatever the usernames, with its own page; below the limit an
    office behind one address keeps signing in."""
    limit = settings.SIGN_IN_FAILURES_PER_ADDRESS
    assert (limit, settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS) == (50, 5)
    office = Client(REMOTE_ADDR="203.0.113.5")
    for number in range(limit - 1):
        assert _sign_in(office, f"typo{number % 25}", "wrong").status_code == 200
    assert _sign_in(office, "typo-last", "wrong").status_code == 429
    response = _sign_in(office, attorney.username, TEST_PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts from your network address" in page
    assert "after 50 wrong passwords for any username" in page
    assert "_auth_user_id" not in office.session


def test_a_successful_sign_in_resets_only_its_own_username(attorney, paralegal):
    """A valid account cannot wipe the address's count of guesses at others."""
    office = Client(REMOTE_ADDR="203.0.113.6")
    for number in range(settings.SIGN_IN_FAILURES_PER_ADDRESS - 1):
        _sign_in(office, f"guess{number % 25}", "wrong")
    assert _sign_in(office, attorney.username, TEST_PASSWORD).status_code == 302
    office.post(reverse("logout"))
    assert _sign_in(office, paralegal.username, "wrong").status_code == 429
    assert _sign_in(office, paralegal.username, TEST_PASSWORD).status_code == 429


def test_admin_sign_in_is_throttled_too(client, superuser):
    for _ in range(settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS):
        response = _sign_in(client, superuser.username, "wrong", url_name="admin:login")
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    response = _sign_in(client, superuser.username, TEST_PASSWORD, url_name="admin:login")
    assert response.status_code == 429


def test_the_test_client_login_still_works(client, attorney):
    """client.login() passes no request; the throttle lets it through."""
    assert client.login(username=attorney.username, password=TEST_PASSWORD)
    assert not client.login(username=attorney.username, password="wrong")


# --- Error pages ---------------------------------------------------------------


def test_unknown_page_shows_our_404_without_debug_details(client, attorney):
    client.force_login(attorney)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["404.html", "base.html"]
    page = response.content.decode()
    assert "Page not found" in page
    assert "Dana Reyes" in page  # the usual header for a signed-in user
    assert "URLconf" not in page and "Traceback" not in page


def test_missing_record_shows_our_404(client, administrator):
    client.force_login(administrator)
    response = client.get(reverse("clients:client_detail", kwargs={"pk": 987654}))
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_forbidden_page_shows_our_403(client, attorney):
    client.force_login(attorney)
    response = client.get(reverse("users:settings"))
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    assert "Not allowed" in response.content.decode()


def test_missing_csrf_token_shows_our_page_and_changes_nothing(attorney):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("login"), {"username": attorney.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_server_error_page_is_ours_and_needs_no_request_context():
    request = RequestFactory().get("/")
    response = defaults.server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "/static/css/app.css" in page
    assert "Traceback" not in page


def test_bad_request_page_is_ours():
    response = defaults.bad_request(RequestFactory().get("/"), exception=None)
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_a_crashing_view_shows_our_500(client, attorney, monkeypatch):
    from clients import views

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.ClientListView, "get", explode)
    client.raise_request_exception = False
    client.force_login(attorney)
    response = client.get(reverse("clients:client_list"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "boom" not in page


# --- The walls around every URL ----------------------------------------------------

# Signing in, and resetting a forgotten password, need no signed-in user.
PASSWORD_RESET_URL_NAMES = {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}
PUBLIC_URL_NAMES = {"login", "admin:login"} | PASSWORD_RESET_URL_NAMES
SIGN_IN_URLS = ("/login/?next=", "/admin/login/?next=")
# Names whose URL patterns are regular expressions: sample values they accept.
REGEX_SAMPLES = ("users", "clients", "transfers", "auth", "1")


def _all_patterns(resolver=None, namespace="", prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _all_patterns(pattern, ns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield name, pattern, prefix + str(pattern.pattern)


def _url_from_route(route: str) -> str:
    """A URL for an unnamed pattern, built from its route with sample values."""
    url = re.sub(r"<(?:\w+:)?\w+>", "1", route)
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "1", url)
    return "/" + url.replace("^", "").replace("$", "")


def _sample_url(name, pattern, route):
    """A URL for the pattern, with sample values for its parameters."""
    if name is None:
        return _url_from_route(route)
    keys = list(pattern.pattern.regex.groupindex) or list(pattern.pattern.converters)
    if not keys:
        return reverse(name)
    for value in REGEX_SAMPLES:
        try:
            return reverse(name, kwargs=dict.fromkeys(keys, value))
        except NoReverseMatch:
            continue
    return None


def _every_url():
    urls, unreachable = [], []
    for name, pattern, route in _all_patterns():
        if name in PUBLIC_URL_NAMES:
            continue
        url = _sample_url(name, pattern, route)
        if url is None:
            unreachable.append(route)
        else:
            urls.append((name or route, url))
    return urls, unreachable


def test_every_url_in_the_urlconf_requires_sign_in(client):
    """Walks the whole URLconf, admin included, for GET and POST."""
    urls, unreachable = _every_url()
    assert not unreachable, f"cannot build a sample URL for {unreachable}"
    assert len(urls) > 20
    for name, url in urls:
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, url, method.__name__)
            location = response["Location"]
            assert location.startswith(SIGN_IN_URLS), (name, url, location)


def test_sign_in_pages_and_static_files_are_public(client):
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("admin:login")).status_code == 200
    response = client.get(settings.STATIC_URL + "css/app.css")
    assert response.status_code == 200


def _settings_urls(user_pk, transfer_pk, job_pk):
    """Every users:* and transfers:* URL, with real objects for its parameters."""
    urls = []
    for name, pattern, _route in _all_patterns():
        if not name or not name.startswith(("users:", "transfers:")):
            continue
        kwargs = {}
        for key in pattern.pattern.converters:
            is_transfer = "transfer" in key or (name.startswith("transfers:") and key == "pk")
            kwargs[key] = transfer_pk if is_transfer and "user" not in key else user_pk
            if name.startswith("transfers:transfer_job") and key == "pk":
                kwargs[key] = job_pk
        urls.append((name, reverse(name, kwargs=kwargs)))
    return urls


@pytest.fixture
def settings_urls(attorney, administrator):
    from transfers.models import Transfer, TransferJob

    old_user = UserFactory(groups=[groups.ATTORNEYS])
    transfer = Transfer.objects.create(
        mode=Transfer.Mode.ALL,
        actor=administrator,
        actor_name=administrator.full_name,
        from_user=old_user,
        from_user_name=old_user.full_name,
    )
    job = TransferJob.objects.create(
        mode=Transfer.Mode.ALL,
        actor=administrator,
        from_user=old_user,
        request_key="queued-for-the-url-checks",
        record_count=30_000,
    )
    urls = _settings_urls(old_user.pk, transfer.pk, job.pk)
    assert ("users:settings", reverse("users:settings")) in urls
    return urls


@pytest.mark.parametrize("role", ["attorney", "manager", "paralegal"])
def test_every_settings_url_refuses_users_without_administrator_permissions(
    request, client, settings_urls, role
):
    from transfers.models import Transfer

    user = request.getfixturevalue(role)
    client.force_login(user)
    transfers_before = Transfer.objects.count()
    for name, url in settings_urls:
        assert client.get(url).status_code == 403, (role, name, url)
        assert client.post(url, {}).status_code == 403, (role, name, url)
    assert Transfer.objects.count() == transfers_before


def test_administrators_get_into_every_settings_url(client, administrator, settings_urls):
    client.force_login(administrator)
    for name, url in settings_urls:
        assert client.get(url).status_code in (200, 302, 405), (name, url)
