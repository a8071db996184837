"""Taking the permission to own records from a user, racing a record being
created for them, on PostgreSQL with real threads: the second waits for the
first's row lock and then sees what it committed, so a record is never left
with an owner who may no longer own it."""

import pytest
from django.contrib.auth.models import Group

import clients.services
import users.services
from clients.models import Client
from clients.services import client_create
from tests.factories import OwnerFactory
from tests.transfers.test_concurrency import default_groups, race  # noqa: F401 (fixture)
from users import groups
from users.selectors import user_may_own_records
from users.services import user_access_update

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _managers():
    return [Group.objects.get(name=groups.MANAGERS)]


def test_a_record_created_while_the_permission_is_being_taken_is_refused(administrator):
    dana = OwnerFactory()
    first, second = race(
        users.services,
        "access_snapshot",  # held with dana's row locked, before the groups change
        lambda: user_access_update(user=dana, acting_user=administrator, groups=_managers()),
        lambda: client_create(acting_user=administrator, owner=dana, number="C-R1", name="Race"),
    )
    assert first.error is None
    assert second.error is not None
    assert [e.code for e in second.error.error_dict["owner"]] == ["owner_ineligible"]
    assert not Client.objects.filter(owner=dana).exists()
    assert not user_may_own_records(dana)


def test_taking_the_permission_while_a_record_is_being_created_is_refused(administrator):
    dana = OwnerFactory()
    first, second = race(
        clients.services,
        "_lock_owner",  # held with dana's row share-locked, the record not yet written
        lambda: client_create(acting_user=administrator, owner=dana, number="C-R2", name="Race"),
        lambda: user_access_update(user=dana, acting_user=administrator, groups=_managers()),
    )
    assert first.error is None
    assert second.error is not None and second.error.code == "owner_permission_removed"
    assert Client.objects.get(number="C-R2").owner == dana
    assert user_may_own_records(dana)
