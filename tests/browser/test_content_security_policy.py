"""The Content-Security-Policy as Chromium enforces it."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

INJECT = """() => new Promise(resolve => {
    const blocked = [];
    document.addEventListener('securitypolicyviolation', e => blocked.push(e.violatedDirective));
    const script = document.createElement('script');
    script.textContent = 'window.injected = true;';
    document.body.appendChild(script);
    const style = document.createElement('style');
    style.textContent = 'body { background: red; }';
    document.head.appendChild(style);
    setTimeout(() => resolve({
        ran: window.injected === true,
        background: getComputedStyle(document.body).backgroundColor,
        blocked: blocked,
    }), 200);
})"""


def test_the_browser_refuses_injected_inline_script_and_style(live_server, context):
    page = context.new_page()  # not the guarded `page`: violations are expected here
    page.goto(f"{live_server.url}/login/")
    result = page.evaluate(INJECT)
    assert result["ran"] is False
    assert result["background"] != "rgb(255, 0, 0)"
    assert any(d.startswith("script-src") for d in result["blocked"]), result
    assert any(d.startswith("style-src") for d in result["blocked"]), result


def test_our_own_script_runs_under_the_policy(live_server, page, signed_in_page, administrator):
    """static/js/app.js is served by the app and allowed: the User Transfer
    All form marks itself busy on submit."""
    from tests.factories import ClientFactory, OwnerFactory

    leaver = OwnerFactory()
    ClientFactory(owner=leaver)  # a user who owns nothing gets no form
    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/all/")
    scripts = page.evaluate("() => Array.from(document.scripts).map(s => s.src)")
    assert any(src.endswith("/static/js/app.js") for src in scripts), scripts
    page.evaluate(
        "() => { const f = document.querySelector('form[data-once]');"
        " f.addEventListener('submit', e => e.preventDefault());"
        " f.requestSubmit(); }"
    )
    page.wait_for_function("() => document.querySelector('form[data-once]').ariaBusy === 'true'")


def test_the_admin_works_under_the_policy(live_server, page, signed_in_page, superuser):
    """The Django admin needs no relaxation: its list, change form and owner
    autocomplete (select2) run without the browser blocking anything (the
    guarded `page` fails the test if it did)."""
    from tests.factories import CaseFactory

    case = CaseFactory()
    page = signed_in_page(superuser, "/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.goto(f"{live_server.url}/admin/clients/client/")
    expect(page.get_by_role("link", name=case.client.number)).to_be_visible()
    page.goto(f"{live_server.url}/admin/clients/client/{case.client.pk}/change/")
    page.locator(".select2-selection").first.click()
    expect(page.locator(".select2-results__option").first).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(f"{live_server.url}/admin/users/user/add/")
    expect(page.get_by_label("Username")).to_be_visible()
