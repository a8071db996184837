from dataclasses import dataclass

import pytest

from clients.models import Case, Client, Matter
from tests.factories import (
    CaseFactory,
    ClientFactory,
    ClientShareFactory,
    MatterFactory,
    OwnerFactory,
)
from users.models import User


@pytest.fixture
def admin_http(client, administrator):
    client.force_login(administrator)
    return client


@dataclass
class LeaverFirm:
    leaver: User
    dana: User
    marcus: User
    acme: Client  # owned by the leaver, with a matter and two cases of theirs
    bolt: Client  # owned by the leaver, with a matter of theirs
    crane: Client  # owned by Marcus; the leaver owns one matter and its case under it
    others_matter: Matter  # Marcus's matter under Crane, never touched


@pytest.fixture
def leaver_firm(db, attorney):
    leaver = OwnerFactory(username="sam.leaver", first_name="Sam", last_name="Leaver")
    marcus = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    acme = ClientFactory(name="Acme Ltd", number="C-00001", owner=leaver)
    acme_matter = MatterFactory(client=acme, owner=leaver, number="M-00001")
    CaseFactory(matter=acme_matter, owner=leaver, number="K-00001")
    CaseFactory(matter=acme_matter, owner=leaver, number="K-00002")
    bolt = ClientFactory(name="Bolt & Sons", number="C-00002", owner=leaver)
    MatterFactory(client=bolt, owner=leaver, number="M-00002")
    crane = ClientFactory(name="Crane Co", number="C-00003", owner=marcus)
    crane_matter = MatterFactory(client=crane, owner=leaver, number="M-00003")
    CaseFactory(matter=crane_matter, owner=leaver, number="K-00003")
    others_matter = MatterFactory(client=crane, owner=marcus, number="M-00004")
    ClientShareFactory(content_object=crane, user=leaver)
    return LeaverFirm(
        leaver=leaver,
        dana=attorney,
        marcus=marcus,
        acme=acme,
        bolt=bolt,
        crane=crane,
        others_matter=others_matter,
    )


def ownership() -> dict:
    """Who owns what: compare before and after a refused request."""
    return {
        "clients": dict(Client.objects.values_list("pk", "owner_id")),
        "matters": dict(Matter.objects.values_list("pk", "owner_id")),
        "cases": dict(Case.objects.values_list("pk", "owner_id")),
        "active": dict(User.objects.values_list("pk", "is_active")),
    }


@pytest.fixture
def snapshot():
    return ownership
