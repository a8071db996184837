"""A colleague's name typed, not picked from the list: User Transfer
understands a full name that names exactly one eligible user."""

import pytest
from playwright.sync_api import expect

from tests.factories import ClientFactory, OwnerFactory
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_typed_full_name_assigns_and_saves(live_server, signed_in_page, administrator):
    leaver = OwnerFactory(username="ruth.baker", first_name="Ruth", last_name="Baker")
    marcus = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    tara = OwnerFactory(username="tara.lin", first_name="Tara", last_name="Lin")
    clients = [ClientFactory(owner=leaver, name=f"Typed Client {n}") for n in range(1, 4)]

    page = signed_in_page(administrator, f"/settings/transfers/users/{leaver.pk}/per-client/")
    expect(page.get_by_role("heading", name="User Transfer", exact=True)).to_be_visible()

    # "Assign all to" with the colleague's full name, as a new administrator types it.
    page.get_by_label("Assign all to").fill("Marcus Hale")
    page.get_by_role("button", name="Assign to every client").click()
    for client in clients:
        expect(page.get_by_label(f"New user for {client.name}")).to_have_value(
            "Marcus Hale (marcus.hale)"
        )
    # One row by hand, again by full name (in another case).
    page.get_by_label(f"New user for {clients[2].name}").fill("tara lin")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Transfer #", exact=False)).to_be_visible()
    transfer = Transfer.objects.get()
    moved = {client.pk: client.owner_id for client in clients}
    for client in clients:
        client.refresh_from_db()
        moved[client.pk] = client.owner_id
    assert moved == {
        clients[0].pk: marcus.pk,
        clients[1].pk: marcus.pk,
        clients[2].pk: tara.pk,
    }
    assert {r.to_user_id for r in transfer.recipients.all()} == {marcus.pk, tara.pk}
