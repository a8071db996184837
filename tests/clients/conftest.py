"""Fixtures for the grid, record page and admin tests: `attorney_firm`, a small
firm of two attorneys and an inactive former owner, and a helper to read grid pages."""

import re
from dataclasses import dataclass

import pytest

from clients.models import Case, Client, Matter
from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory, UserFactory
from users import groups
from users.models import User


@dataclass
class AttorneyFirm:
    dana: User  # attorney, owns Hoffmann Foods and its matter and cases
    marcus: User  # attorney, owns Brandt Logistics and its records
    former: User  # inactive, owns nothing
    hoffmann: Client
    brandt: Client
    hoffmann_matter: Matter
    brandt_matter: Matter
    hoffmann_case: Case
    brandt_case: Case


@pytest.fixture
def attorney_firm(attorney) -> AttorneyFirm:
    marcus = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    former = OwnerFactory(
        username="frank.former", first_name="Frank", last_name="Former", is_active=False
    )
    hoffmann = ClientFactory(number="C-00001", name="Hoffmann Foods", owner=attorney)
    brandt = ClientFactory(
        number="C-00002", name="Brandt Logistics", owner=marcus, status=Client.Status.FORMER
    )
    hoffmann_matter = MatterFactory(
        client=hoffmann, number="M-000001", title="Lease renewal", owner=attorney
    )
    brandt_matter = MatterFactory(
        client=brandt,
        number="M-000002",
        title="Debt recovery",
        owner=marcus,
        status=Matter.Status.CLOSED,
    )
    hoffmann_case = CaseFactory(
        matter=hoffmann_matter, number="K-0000001", caption="Hoffmann v. Adler", owner=attorney
    )
    brandt_case = CaseFactory(
        matter=brandt_matter,
        number="K-0000002",
        caption="Brandt v. Castillo",
        owner=marcus,
        status=Case.Status.CLOSED,
    )
    return AttorneyFirm(
        attorney,
        marcus,
        former,
        hoffmann,
        brandt,
        hoffmann_matter,
        brandt_matter,
        hoffmann_case,
        brandt_case,
    )


@pytest.fixture
def outsider(db):
    """A paralegal with no records and no shares."""
    return UserFactory(username="nobody.here", groups=[groups.PARALEGALS])


ROW_HEADER = re.compile(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>')


def row_numbers(response) -> list[str]:
    """The record numbers in a grid page's rows, in order."""
    return ROW_HEADER.findall(response.content.decode())
