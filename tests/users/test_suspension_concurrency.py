"""Suspend sign-in racing a transfer to the same user, and two superusers
suspended at once, on PostgreSQL with real threads: the second waits for the
first's locks and then sees what it committed."""

import pytest

import users.services
from clients.models import Client
from tests.factories import ClientFactory, OwnerFactory, UserFactory
from tests.transfers.test_concurrency import default_groups, race  # noqa: F401 (fixture)
from transfers.engine.services import records_transfer_all
from users.models import User
from users.services import user_sign_in_suspend

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_transfer_to_a_user_being_suspended_waits_and_is_refused(administrator):
    leaver, grace = OwnerFactory(), OwnerFactory()
    ClientFactory(owner=leaver)
    first, second = race(
        users.services,
        "suspension_refusal",  # held with grace's row locked, before the suspension is written
        lambda: user_sign_in_suspend(user=grace, acting_user=administrator),
        lambda: records_transfer_all(acting_user=administrator, old_user=leaver, new_user=grace),
    )
    assert first.error is None
    assert second.error is not None and second.error.code == "new_user_suspended"
    assert Client.objects.get().owner == leaver


def test_two_superusers_suspended_at_once_leave_one_who_may_sign_in(administrator):
    first_root, second_root = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    first, second = race(
        users.services,
        "suspension_refusal",
        lambda: user_sign_in_suspend(user=first_root, acting_user=administrator),
        lambda: user_sign_in_suspend(user=second_root, acting_user=administrator),
    )
    assert first.error is None
    assert second.error is not None and second.error.code == "suspend_last_superuser"
    assert User.objects.filter(is_superuser=True, sign_in_suspended_at__isnull=True).count() == 1
