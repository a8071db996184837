"""Browser tests: Playwright drives Debian's headless Chromium against the
live server. No browser is downloaded; CHROMIUM_PATH points at the binary."""

import os
import shutil
from pathlib import Path

import pytest

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
    return context.new_page()


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
    import importlib

    from django.apps import apps

    migration = importlib.import_module("users.migrations.0002_default_groups")
    migration.create_groups(apps, None)
