"""API tokens in the browser, and the JSON API's documentation under the
Content-Security-Policy (the guarded `page` fails on anything blocked)."""

import pytest
from playwright.sync_api import expect

from integrations.models import ApiToken
from tests.integrations.conftest import default_groups_restore

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def token_permissions(default_groups):
    default_groups_restore()


def test_an_administrator_creates_a_token_sees_it_once_and_revokes_it(
    signed_in_page, administrator, check_page
):
    page = signed_in_page(administrator, "/settings/")
    page.get_by_role("link", name="API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    page.get_by_label("Name").fill("Okta provisioning")
    page.get_by_label("Scope").select_option("scim")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_role("textbox", name="Secret").input_value()
    assert secret.startswith("ce_")
    check_page(page)
    page.reload()
    assert secret not in page.content()
    page.get_by_role("button", name="Revoke Okta provisioning").click()
    expect(page.get_by_text("The API token “Okta provisioning” was revoked.")).to_be_visible()
    assert ApiToken.objects.get().revoked_at is not None


def test_the_api_documentation_renders_from_the_apps_own_files(
    live_server, signed_in_page, administrator
):
    requested = []
    page = signed_in_page(administrator, "/settings/")
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("/api/v1/transfers/all").first).to_be_visible()
    assert requested and all(url.startswith(live_server.url) for url in requested), requested
