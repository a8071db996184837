"""The traps of issue 26 in Chromium: Distribute keeps what was assigned by
hand, every count on a receipt lands on a grid showing that count, the new
owner's e-mail link, and a revert in its own words."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)


def per_client_path(user) -> str:
    return f"/settings/transfers/users/{user.pk}/per-client/"


@pytest.fixture
def sams_book():
    sam = OwnerFactory(username="sam.okafor", first_name="Sam", last_name="Okafor")
    people = {
        name: OwnerFactory(username=name, first_name=first, last_name=last)
        for name, first, last in (
            ("tom.becker", "Tom", "Becker"),
            ("grace.kim", "Grace", "Kim"),
            ("lena.ortiz", "Lena", "Ortiz"),
        )
    }
    jansen = [ClientFactory(owner=sam, name=f"Jansen {n}") for n in range(4)]
    others = [ClientFactory(owner=sam, name=f"Other {n}") for n in range(4)]
    for client in jansen + others:
        CaseFactory(matter=MatterFactory(client=client, owner=sam), client=client, owner=sam)
    return sam, people, jansen, others


def test_rows_assigned_by_hand_survive_distribute(
    live_server, signed_in_page, check_page, administrator, sams_book
):
    sam, people, jansen, others = sams_book
    tom = "Tom Becker (tom.becker)"
    page = signed_in_page(administrator, per_client_path(sam))
    page.get_by_label("Filter clients").fill("Jansen")
    page.get_by_label("Select all shown clients").check()
    page.get_by_label("Assign selected to").fill(tom)
    page.get_by_role("button", name="Assign to selected clients").click()
    expect(page.locator("[data-assign-status]")).to_have_text("4 clients assigned to Tom Becker.")
    page.get_by_label("Filter clients").fill("")

    distribute = page.get_by_role("group", name="Distribute among")
    distribute.get_by_label(re.compile(r"^Grace Kim —")).check()
    distribute.get_by_label(re.compile(r"^Lena Ortiz —")).check()
    distribute.get_by_role("button", name="Distribute").click()
    status = page.locator("[data-fill-status]")
    expect(status).to_contain_text("Distribute filled 4 empty rows and kept 4 already assigned")
    for client in jansen:
        expect(page.get_by_label(f"New user for {client.name}")).to_have_value(tom)
    for client in others:
        expect(page.get_by_label(f"New user for {client.name}")).to_have_value(
            re.compile(r"^(Grace Kim \(grace.kim\)|Lena Ortiz \(lena.ortiz\))$")
        )
    expect(page.locator("[data-assign-status]")).to_have_text("")
    check_page(page)

    page.get_by_label("Replace assignments already made").check()
    distribute.get_by_role("button", name="Distribute").click()
    expect(status).to_have_text(
        "Distribute filled 8 rows, replacing 4 assignments already made. "
        "Change any row before Save."
    )
    for client in jansen:
        expect(page.get_by_label(f"New user for {client.name}")).not_to_have_value(tom)

    page.get_by_label("Assign all to").fill(tom)
    page.get_by_role("button", name="Assign to every client").click()
    expect(page.locator("[data-assign-status]")).to_have_text(
        "8 clients assigned to Tom Becker, replacing 8 assignments already made."
    )
    assert Transfer.objects.count() == 0
