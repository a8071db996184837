"""The two firms of the transfer tests: `leaver_firm`, a leaver whose records
sit under their own clients and a colleague's, and `mixed_firm`, where the owners
of clients, matters and cases are mixed (tests/transfers/engine_support.py)."""

from dataclasses import dataclass

import pytest

from clients.models import Client, Matter
from tests.factories import (
    CaseFactory,
    ClientFactory,
    ClientShareFactory,
    MatterFactory,
    OwnerFactory,
)
from tests.transfers.engine_support import MixedFirm, build_mixed_firm
from users.models import User


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
def leaver_firm(db, attorney) -> LeaverFirm:
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


@pytest.fixture
def mixed_firm(db) -> MixedFirm:
    return build_mixed_firm()
