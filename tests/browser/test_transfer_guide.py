"""The firm's help article, transfer-guide.txt, followed word for word in
headless Chromium: an administrator clicks through Settings, User
Registration, Add, the user grid's action button, User Transfer All and
User Transfer, reads the receipt, and verifies in the Clients, Matters and
Cases grids that every record landed with the new user. axe-core checks
every page on the way."""

import re

import pytest
from playwright.sync_api import expect

from clients.models import Case, Client, Matter
from tests.browser.conftest import has_focus_ring, shown_unclipped
from tests.factories import (
    TEST_PASSWORD,
    CaseFactory,
    ClientFactory,
    MatterFactory,
    OwnerFactory,
)
from transfers.models import Transfer
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def _holdings(owner, clients=2, matters_per_client=2, cases_per_matter=2, prefix="T"):
    """Clients owned by `owner`, each with matters and cases also owned by them."""
    made = []
    for c in range(clients):
        client = ClientFactory(owner=owner, name=f"{prefix} Client {c + 1}")
        for m in range(matters_per_client):
            matter = MatterFactory(client=client, owner=owner, title=f"{prefix} Matter {c + 1}.{m}")
            for _ in range(cases_per_matter):
                CaseFactory(matter=matter, owner=owner)
        made.append(client)
    return made


def _owned(user) -> tuple[int, int, int]:
    return (
        Client.objects.filter(owner=user).count(),
        Matter.objects.filter(owner=user).count(),
        Case.objects.filter(owner=user).count(),
    )


def _open_user_registration(page, check_page):
    # 1. Access Settings: the settings icon in the top header.
    page.locator("header").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    check_page(page)
    # 2. Navigate to User Registration, under the User section.
    user_section = page.get_by_role("region", name="User")
    user_section.get_by_role("link", name="User Registration").click()
    expect(page.get_by_role("heading", name="User Registration")).to_be_visible()
    check_page(page)


def action_button(page, full_name):
    """The action button next to a user's name in the user grid."""
    return page.get_by_role("button", name=f"Actions for {full_name}", exact=True)


def chromium_roles(page, name) -> set[str]:
    """The roles Chromium's accessibility tree gives the nodes with this name."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    return {
        node.get("role", {}).get("value")
        for node in nodes
        if node.get("name", {}).get("value") == name
    }


def _search_user(page, text):
    page.get_by_role("searchbox", name="Search users").fill(text)
    page.get_by_role("button", name="Search").click()


def _verify_grid(page, check_page, live_server, grid, owner_name, numbers):
    """Open a grid from the header, filter it by owner, and see every record."""
    page.locator("header").get_by_role("link", name=grid, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_label("Owner").select_option(label=owner_name)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_label("Owner")).to_have_value(re.compile(r"\d+"))
    noun = grid.lower() if len(numbers) != 1 else grid.lower().removesuffix("s")
    expect(page.locator(".grid-summary")).to_contain_text(f"of {len(numbers)} {noun}.")
    table = page.get_by_role("table")
    for number in numbers:
        expect(table.get_by_role("row").filter(has_text=number)).to_have_count(1)
    check_page(page)


def test_user_transfer_all_to_a_new_colleague_deactivates_and_signs_out_the_old_user(
    live_server, browser, page, sign_in, check_page, administrator, session_cookie_for
):
    leaver = OwnerFactory(username="mark.hale", first_name="Mark", last_name="Hale")
    clients = _holdings(leaver, clients=3, prefix="Hale")
    others = _holdings(OwnerFactory(), clients=1, prefix="Other")
    matters = Matter.objects.filter(owner=leaver)
    cases = Case.objects.filter(owner=leaver)
    matter_numbers = list(matters.values_list("number", flat=True))
    case_numbers = list(cases.values_list("number", flat=True))
    assert _owned(leaver) == (3, 6, 12)

    # The leaver is still signed in somewhere: their session ends with the transfer.
    leaver_context = browser.new_context()
    leaver_context.add_cookies([session_cookie_for(leaver)])
    leaver_page = leaver_context.new_page()
    leaver_page.goto(f"{live_server.url}/clients/")
    expect(leaver_page.locator("header")).to_contain_text("Mark Hale")

    sign_in(administrator)
    check_page(page)
    _open_user_registration(page, check_page)

    # 3. The new colleague does not exist yet: "Add" creates them.
    page.get_by_role("link", name="Add", exact=True).click()
    expect(page.get_by_role("heading", name="Add user")).to_be_visible()
    check_page(page)
    page.get_by_label("Username").fill("nina.park")
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Park")
    page.get_by_label("Email").fill("nina.park@example.com")
    page.get_by_role("checkbox", name="Attorneys").check()
    page.get_by_label("Password", exact=True).fill("Nina-starts-2026!")
    page.get_by_label("Password confirmation").fill("Nina-starts-2026!")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Nina Park")
    newcomer = User.objects.get(username="nina.park")
    assert newcomer.is_active and newcomer.groups.filter(name="Attorneys").exists()
    expect(page.get_by_role("row", name=re.compile("Nina Park"))).to_be_visible()
    check_page(page)

    # 4. Locate the old user: search the user grid.
    _search_user(page, "Hale")
    row = page.get_by_role("row", name=re.compile("Mark Hale"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("mark.hale")
    check_page(page)

    # 5. The action button next to the old user's name.
    action_button(page, "Mark Hale").click()
    menu_item = page.get_by_role("link", name="User Transfer All")
    expect(menu_item).to_be_visible()
    assert shown_unclipped(menu_item), "the open action menu is cut off"
    check_page(page)

    # Option A: "User Transfer All" -> the new user -> "Deactivate the old user" -> "Save".
    menu_item.click()
    expect(page.get_by_role("heading", name="User Transfer All")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("3 clients")
    expect(page.locator("dl.facts")).to_contain_text("6 matters")
    expect(page.locator("dl.facts")).to_contain_text("12 cases")
    check_page(page)
    new_user = page.get_by_label("New user")
    new_user.select_option(label=_option(new_user, "Nina Park"))
    page.get_by_label("Deactivate the old user").check()
    page.get_by_role("button", name="Save").click()

    # The receipt.
    expect(
        page.get_by_role("heading", name=re.compile(r"Transfer #\d+: User Transfer All"))
    ).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Olivia Grant")
    expect(facts).to_contain_text("Mark Hale was deactivated")
    expect(facts).to_contain_text("3 clients, 6 matters, 12 cases")
    recipients = page.get_by_role("table", name="New users")
    expect(recipients.get_by_role("row", name=re.compile("Nina Park"))).to_contain_text("3")
    check_page(page)
    transfer = Transfer.objects.get()
    assert transfer.deactivated_from_user and transfer.actor == administrator

    assert _owned(leaver) == (0, 0, 0)
    assert _owned(newcomer) == (3, 6, 12)
    leaver.refresh_from_db()
    assert not leaver.is_active
    assert all(client.owner_id != newcomer.pk for client in others)

    # After the transfer, verify that all clients, matters and cases were reassigned.
    _verify_grid(page, check_page, live_server, "Clients", "Nina Park", [c.number for c in clients])
    _verify_grid(page, check_page, live_server, "Matters", "Nina Park", matter_numbers)
    _verify_grid(page, check_page, live_server, "Cases", "Nina Park", case_numbers)

    # The old user is inactive in the user grid.
    page.locator("header").get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="User Registration").click()
    _search_user(page, "mark.hale")
    expect(page.get_by_role("row", name=re.compile("Mark Hale"))).to_contain_text("Inactive")

    # The deactivated user's open session is signed out on its next page load.
    leaver_page.reload()
    expect(leaver_page.get_by_role("heading", name="Sign in to CaseEngine")).to_be_visible()
    expect(leaver_page).to_have_url(re.compile(r"/login/\?next=/clients/"))
    check_page(leaver_page)
    leaver_page.get_by_label("Username").fill("mark.hale")
    leaver_page.get_by_label("Password").fill(TEST_PASSWORD)
    leaver_page.get_by_role("button", name="Sign in").click()
    expect(leaver_page.get_by_role("alert")).to_be_visible()
    expect(leaver_page.get_by_role("heading", name="Sign in to CaseEngine")).to_be_visible()
    leaver_context.close()


def _option(select, name) -> str:
    """The label of the select's option that starts with a person's name (the
    New user lists show each user with their current workload)."""
    labels = select.locator("option").all_inner_texts()
    matches = [label for label in labels if label.strip().startswith(name)]
    assert len(matches) == 1, (name, labels)
    return matches[0].strip()


def test_user_transfer_to_several_users_with_a_refusal_first(
    live_server, page, signed_in_page, check_page, administrator
):
    leaver = OwnerFactory(username="ruth.baker", first_name="Ruth", last_name="Baker")
    sam = OwnerFactory(username="sam.cole", first_name="Sam", last_name="Cole")
    tara = OwnerFactory(username="tara.lin", first_name="Tara", last_name="Lin")
    colleague = OwnerFactory(username="ivan.moss", first_name="Ivan", last_name="Moss")
    acme, birch = _holdings(leaver, clients=2, matters_per_client=1, prefix="Ruth")
    # A client of a colleague where Ruth owns one matter and its case.
    cedar = ClientFactory(owner=colleague, name="Ruth Client 3 (Moss)")
    cedar_matter = MatterFactory(client=cedar, owner=leaver, title="Ruth's matter at Moss")
    cedar_case = CaseFactory(matter=cedar_matter, owner=leaver)
    colleague_matter = MatterFactory(client=cedar, owner=colleague)
    before = _owned(leaver)
    assert before == (2, 3, 5)

    page = signed_in_page(administrator)
    _open_user_registration(page, check_page)
    _search_user(page, "Ruth")
    action_button(page, "Ruth Baker").click()
    page.get_by_role("link", name="User Transfer", exact=True).click()

    # Option B: every client linked to the old user, each with its own control.
    expect(page.get_by_role("heading", name="User Transfer", exact=True)).to_be_visible()
    for client in (acme, birch, cedar):
        expect(page.get_by_label(f"New user for {client.name}")).to_be_visible()
    check_page(page)

    # Assign two of three and Save: refused, with the unassigned client named.
    # Each row's input offers the eligible users (one shared list); the
    # choice is written "Full Name (username)".
    page.get_by_label(f"New user for {acme.name}").fill("Sam Cole (sam.cole)")
    page.get_by_label(f"New user for {birch.name}").fill("Tara Lin (tara.lin)")
    page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(cedar.name)
    check_page(page)
    assert Transfer.objects.count() == 0
    assert _owned(leaver) == before

    # The choices made are kept; assign the last client and Save.
    expect(page.get_by_label(f"New user for {acme.name}")).to_have_value("Sam Cole (sam.cole)")
    page.get_by_label(f"New user for {cedar.name}").fill("Tara Lin (tara.lin)")
    page.get_by_role("button", name="Save").click()

    expect(
        page.get_by_role("heading", name=re.compile(r"Transfer #\d+: User Transfer$"))
    ).to_be_visible()
    recipients = page.get_by_role("table", name="New users")
    expect(recipients.get_by_role("row")).to_have_count(3)  # header + Sam + Tara
    expect(page.locator("dl.facts")).to_contain_text("2 clients, 3 matters, 5 cases")
    check_page(page)

    assert _owned(leaver) == (0, 0, 0)
    assert set(Client.objects.filter(owner=sam).values_list("pk", flat=True)) == {acme.pk}
    assert set(Client.objects.filter(owner=tara).values_list("pk", flat=True)) == {birch.pk}
    cedar.refresh_from_db()
    cedar_matter.refresh_from_db()
    cedar_case.refresh_from_db()
    colleague_matter.refresh_from_db()
    assert cedar.owner == colleague  # not the old user's: never touched
    assert cedar_matter.owner == tara and cedar_case.owner == tara
    assert colleague_matter.owner == colleague
    leaver.refresh_from_db()
    assert leaver.is_active  # "Deactivate the old user" was left unchecked

    sam_numbers = [acme.number]
    tara_numbers = [birch.number]
    _verify_grid(page, check_page, live_server, "Clients", "Sam Cole", sam_numbers)
    _verify_grid(page, check_page, live_server, "Clients", "Tara Lin", tara_numbers)
    tara_cases = list(Case.objects.filter(owner=tara).values_list("number", flat=True))
    assert len(tara_cases) == 3
    _verify_grid(page, check_page, live_server, "Cases", "Tara Lin", tara_cases)


def test_action_menu_works_by_keyboard_alone(
    live_server, page, signed_in_page, check_page, administrator
):
    # Omar owns a client: for a user who owns nothing the transfers are greyed out.
    ClientFactory(owner=OwnerFactory(username="omar.khan", first_name="Omar", last_name="Khan"))
    page = signed_in_page(administrator, "/settings/users/?q=omar")
    search = page.get_by_role("searchbox", name="Search users")
    search.focus()
    target = "Actions for Omar Khan"
    for _ in range(40):
        if page.evaluate("() => document.activeElement.getAttribute('aria-label')") == target:
            break
        page.keyboard.press("Tab")
    button = action_button(page, "Omar Khan")
    expect(button).to_be_focused()
    # Chromium itself exposes it as a collapsed button named for the user.
    assert "button" in chromium_roles(page, target)
    expect(button).to_have_attribute("aria-expanded", "false")
    assert has_focus_ring(button), "the focused action button shows no focus ring"
    expect(page.get_by_role("link", name="User Transfer All")).to_be_hidden()

    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("link", name="User Transfer All")).to_be_visible()
    assert shown_unclipped(page.get_by_role("link", name="User Transfer All"))
    check_page(page)
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(page.get_by_role("link", name="User Transfer All")).to_be_hidden()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Edit")).to_be_focused()
    assert has_focus_ring(page.get_by_role("link", name="Edit"))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="User Transfer All")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="User Transfer", exact=True)).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="User Transfer All")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Omar Khan")


def test_action_menu_links_show_in_the_row_without_javascript(
    live_server, browser, signed_in_page, administrator
):
    # Omar owns a client: for a user who owns nothing the transfers are greyed out.
    ClientFactory(owner=OwnerFactory(username="omar.khan", first_name="Omar", last_name="Khan"))
    no_script = browser.new_context(java_script_enabled=False)
    try:
        page = signed_in_page(administrator, "/settings/users/?q=omar", on_context=no_script)
        row = page.get_by_role("row").filter(has_text="Omar Khan")
        expect(row.get_by_role("button", name="Actions for Omar Khan")).to_be_hidden()
        row.get_by_role("link", name="User Transfer All").click()
        expect(page.get_by_role("heading", name="User Transfer All")).to_be_visible()
    finally:
        no_script.close()
