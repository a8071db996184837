"""Fixtures and helpers for every test: the people of a firm, signing in,
permission look-ups and a snapshot of everything a request may change."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection

from clients.record_types import RECORD_MODELS, RECORD_TYPES
from tests.factories import UserFactory
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from users import groups
from users.models import User


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


# --- Permissions --------------------------------------------------------------


def permission(codename: str, app_label: str = "clients") -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def record_permission(model, action: str) -> Permission:
    """The `action` ("view", "change", ...) permission on a record model."""
    meta = model._meta
    return permission(f"{action}_{meta.model_name}", app_label=meta.app_label)


# --- Snapshot -----------------------------------------------------------------

USER_SHARE_MODELS = tuple(record_type.user_share_model for record_type in RECORD_TYPES)
ALL_SHARE_MODELS = USER_SHARE_MODELS + tuple(
    record_type.group_share_model for record_type in RECORD_TYPES
)


def snapshot() -> dict:
    """Everything a transfer or a refused request may change, in comparable form:
    owners, shares, receipts and who is active."""
    state: dict = {}
    for model in RECORD_MODELS:
        state[model.__name__] = sorted(model.objects.values_list("pk", "owner_id", "updated_at"))
    for model in ALL_SHARE_MODELS:
        holder = "user_id" if "user" in {f.name for f in model._meta.fields} else "group_id"
        state[model.__name__] = sorted(
            model.objects.values_list("pk", "content_object_id", holder, "permission_id")
        )
    state["transfers"] = list(Transfer.objects.order_by("pk").values())
    state["recipients"] = list(TransferRecipient.objects.order_by("pk").values())
    state["records"] = list(TransferredRecord.objects.order_by("pk").values())
    state["users"] = sorted(User.objects.values_list("pk", "is_active"))
    return state
