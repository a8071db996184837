"""Browser tests: Playwright drives Debian's headless Chromium against the
live server. No browser is downloaded; CHROMIUM_PATH points at the binary."""

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import default_groups_restore

CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_BROWSER = (
    "Headless Chromium was not found. Install it with `sudo apt-get install chromium` "
    "(or set CHROMIUM_PATH to a Chromium or Chrome binary) to run the browser tests."
)

# Playwright's sync API runs an event loop in this thread; the live server's
# database work happens in its own thread, and the test's ORM calls are sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING_BROWSER, pytrace=False)
        pytest.skip(MISSING_BROWSER)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page that fails its test if the browser blocks anything under the
    Content-Security-Policy (an inline script or style, a foreign source)."""
    page = context.new_page()
    blocked = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    assert not blocked, "blocked by the Content-Security-Policy:\n" + "\n".join(blocked)


@pytest.fixture
def sign_in(live_server, page):
    """Sign in through the real sign-in form."""
    from tests.factories import TEST_PASSWORD

    def _sign_in(user, password=TEST_PASSWORD, on_page=None):
        target = on_page or page
        target.goto(f"{live_server.url}/login/")
        target.get_by_label("Username").fill(user.username)
        target.get_by_label("Password").fill(password)
        target.get_by_role("button", name="Sign in").click()
        target.wait_for_load_state()
        return target

    return _sign_in


@pytest.fixture(autouse=True)
def default_groups(transactional_db):
    """Transactional tests flush the database, groups included; put them back."""
    default_groups_restore()


# --- Fast sign-in, accessibility and layout helpers -------------------------------

AXE_BLOCKING_IMPACTS = {"serious", "critical"}
AXE_PAGES_CHECKED: list[str] = []


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def check_page(axe):
    """Run axe-core on the page as it is now, and fail on any serious or
    critical violation, naming the rule and the offending elements."""

    def _check(target):
        results = axe.run(target)
        blocking = [
            violation
            for violation in results.response["violations"]
            if violation.get("impact") in AXE_BLOCKING_IMPACTS
        ]
        AXE_PAGES_CHECKED.append(target.url)
        details = [
            f"{v['impact']}: {v['id']} ({v['help']}) at "
            + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in blocking
        ]
        assert not blocking, f"axe on {target.url}:\n" + "\n".join(details)
        assert unlabelled_fields(target) == [], f"unlabelled fields on {target.url}"
        return results

    return _check


def pytest_terminal_summary(terminalreporter):
    if AXE_PAGES_CHECKED:
        terminalreporter.write_line(
            f"axe-core: {len(AXE_PAGES_CHECKED)} page checks "
            f"({len(set(AXE_PAGES_CHECKED))} distinct URLs), "
            "failing on any serious or critical violation"
        )


@pytest.fixture
def session_cookie_for(live_server):
    """A signed-in session cookie for a user, made without the sign-in form:
    quicker than typing, for tests that are not about signing in."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.test import Client as HttpClient

    host = urlsplit(live_server.url).hostname

    def _cookie(user):
        http = HttpClient()
        http.force_login(user)
        return {
            "name": settings.SESSION_COOKIE_NAME,
            "value": http.cookies[settings.SESSION_COOKIE_NAME].value,
            "domain": host,
            "path": "/",
            "httpOnly": True,
            "sameSite": "Lax",
        }

    return _cookie


@pytest.fixture
def signed_in_page(live_server, context, page, session_cookie_for):
    """Put `user`'s session into the test's browser context and open `path`."""

    def _signed_in(user, path="/", on_context=None):
        target_context = on_context or context
        target_context.add_cookies([session_cookie_for(user)])
        target = page if on_context is None else target_context.new_page()
        target.goto(f"{live_server.url}{path}")
        return target

    return _signed_in


def horizontal_overflow(target) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when none)."""
    return target.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )


def unlabelled_fields(target) -> list[str]:
    """Visible form fields without an accessible name (label, aria-label or
    aria-labelledby), described by tag, type and name."""
    return target.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length)
                && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
            .map(el => `${el.tagName.toLowerCase()}[type=${el.type}][name=${el.name}]`)"""
    )


def shown_unclipped(locator) -> bool:
    """Whether the element is really there for a pointer where it is drawn: the
    topmost element at its centre, in the viewport as it is, without scrolling
    (a menu cut off by a scrolling table fails this; Playwright's own clicks
    would scroll the table first)."""
    return locator.evaluate(
        """el => {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height) return false;
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) return false;
            const hit = document.elementFromPoint(x, y);
            return hit === el || el.contains(hit);
        }"""
    )


def has_focus_ring(locator) -> bool:
    """Whether the element draws a visible outline (at least 2 px) right now."""
    style, width = locator.evaluate(
        "el => { const s = getComputedStyle(el);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    return style != "none" and width >= 2
