"""Fixtures and helpers for every test: the people of a firm, signing in,
permission look-ups and a snapshot of everything a request may change."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from tests.factories import UserFactory
from users import groups


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL row locking; runs in the PostgreSQL CI pass")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def group():
    return lambda name: Group.objects.get(name=name)


@pytest.fixture
def administrator(db):
    return UserFactory(
        username="olivia.admin",
        first_name="Olivia",
        last_name="Grant",
        groups=[groups.ADMINISTRATORS],
        is_staff=True,
    )


@pytest.fixture
def superuser(db):
    return UserFactory(username="root.admin", is_superuser=True, is_staff=True)


@pytest.fixture
def manager(db):
    return UserFactory(
        username="helen.ward", first_name="Helen", last_name="Ward", groups=[groups.MANAGERS]
    )


@pytest.fixture
def attorney(db):
    return UserFactory(
        username="dana.reyes", first_name="Dana", last_name="Reyes", groups=[groups.ATTORNEYS]
    )


@pytest.fixture
def paralegal(db):
    return UserFactory(
        username="lena.ortiz", first_name="Lena", last_name="Ortiz", groups=[groups.PARALEGALS]
    )


@pytest.fixture
def signed_in(client):
    """`signed_in(user)`: the test client, signed in as `user`."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def admin_http(signed_in, administrator):
    """The test client signed in as an administrator."""
    return signed_in(administrator)
