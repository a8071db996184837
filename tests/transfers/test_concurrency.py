"""Concurrency on PostgreSQL, with real threads and connections.

One side is held inside its transaction (a gate in one of its steps) while
the other starts; the second must wait for the first's row locks and then
see what the first committed.
"""

import threading
import time
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

import clients.services
import users.services
from clients.models import Case, Client
from clients.services import client_create
from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory, UserFactory
from tests.helpers import default_groups_restore
from tests.transfers.engine_support import at_step, owned_by
from transfers.engine.services import records_transfer_all
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferredRecord
from users.models import User
from users.services import user_set_active

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

WAIT = 10  # seconds; generous, only reached when something is wrong


@pytest.fixture(autouse=True)
def default_groups(transactional_db):
    """Transactional tests flush the database, groups included; put them back."""
    default_groups_restore()


class Worker(threading.Thread):
    """Runs `call` in its own thread and database connection."""

    def __init__(self, name, call):
        super().__init__(name=name, daemon=True)
        self.call = call
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self.call()
        except Exception as error:  # noqa: BLE001 - reported to the test
            self.error = error
        finally:
            connection.close()

    def finish(self):
        self.join(WAIT)
        assert not self.is_alive(), f"{self.name} did not finish"
        return self


def at_transfer_step(step):
    """Where to hold: in a transfer, once it has done `step` (engine.faults.fault_point)."""

    @contextmanager
    def hold(wait):
        with at_step(step, lambda **details: wait()):
            yield

    return hold


def after_call(target, attribute):
    """Where to hold: inside `target.attribute`, once it has run."""

    @contextmanager
    def hold(wait):
        real = getattr(target, attribute)

        def gated(*args, **kwargs):
            result = real(*args, **kwargs)
            wait()
            return result

        with mock.patch.object(target, attribute, gated):
            yield

    return hold


@contextmanager
def gate(hold, thread_name):
    """Hold thread `thread_name` where `hold` says until released; other
    threads pass through."""
    reached, release = threading.Event(), threading.Event()

    def wait():
        if threading.current_thread().name == thread_name:
            reached.set()
            assert release.wait(WAIT), "gate never released"

    with hold(wait):
        yield reached, release


def assert_blocked(worker):
    time.sleep(0.5)
    assert worker.is_alive(), f"{worker.name} should be waiting for a row lock"


def race(target, attribute, first_call, second_call):
    """Hold `first_call` inside `target.attribute` once it has run (in its
    transaction, with its locks), start `second_call`, check that it waits,
    then let both finish. Returns the two finished workers, first and second."""
    return race_held(after_call(target, attribute), first_call, second_call)


def race_at_step(step, first_call, second_call):
    """The same, holding `first_call` in a transfer once it has done `step`."""
    return race_held(at_transfer_step(step), first_call, second_call)


def race_held(hold, first_call, second_call, *, second_waits=True):
    """With `second_waits` False, the second must instead finish while the first
    is held."""
    first = Worker("first", first_call)
    second = Worker("second", second_call)
    with gate(hold, "first") as (reached, release):
        first.start()
        assert reached.wait(WAIT)
        second.start()
        if second_waits:
            assert_blocked(second)
        else:
            second.finish()
        release.set()
        first.finish()
        second.finish()
    return first, second


class Sql:
    """Plain SQL, as another program on the same database would write it."""

    @staticmethod
    def run(statement, params):
        with connection.cursor() as cursor:
            cursor.execute(statement, params)


def sql_in_transaction(statement, params):
    def call():
        with transaction.atomic():
            Sql.run(statement, params)

    return call


GIVE_CASE = "UPDATE clients_case SET owner_id = %s WHERE id = %s"
DELETE_USER = "DELETE FROM users_user WHERE id = %s"


def small_firm(old):
    client = ClientFactory(owner=old)
    matter = MatterFactory(client=client, owner=old)
    CaseFactory(matter=matter, owner=old)
    return client


def test_two_transfers_of_the_same_user_never_interleave(administrator):
    old, first_new, second_new = OwnerFactory(), OwnerFactory(), OwnerFactory()
    for _ in range(3):
        small_firm(old)
    first, second = race_at_step(
        "move_shares",
        lambda: records_transfer_all(acting_user=administrator, old_user=old, new_user=first_new),
        lambda: records_transfer_all(acting_user=administrator, old_user=old, new_user=second_new),
    )
    assert first.error is None
    assert isinstance(second.error, TransferRefused)
    assert second.error.code == "nothing_to_transfer"
    assert owned_by(old) == 0
    assert owned_by(first_new) == 9
    assert owned_by(second_new) == 0
    assert Transfer.objects.count() == 1
    assert TransferredRecord.objects.count() == 9


def test_two_deactivating_transfers_racing_in_opposite_directions(administrator):
    """A -> B and B -> A at once lock the same two rows in the same order:
    no deadlock, the second sees the first's result."""
    a, b = OwnerFactory(), OwnerFactory()
    small_firm(a)
    small_firm(b)
    a_to_b, b_to_a = race_at_step(
        "move_shares",
        lambda: records_transfer_all(
            acting_user=administrator, old_user=a, new_user=b, deactivate_old_user=True
        ),
        lambda: records_transfer_all(acting_user=administrator, old_user=b.pk, new_user=a.pk),
    )
    assert a_to_b.error is None
    assert b_to_a.error.code == "new_user_inactive"
    assert owned_by(b) == 6


def test_record_created_while_a_deactivating_transfer_runs_is_refused(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    small_firm(old)
    transfer, create = race_at_step(
        "move_shares",
        lambda: records_transfer_all(
            acting_user=administrator, old_user=old, new_user=new, deactivate_old_user=True
        ),
        lambda: client_create(acting_user=administrator, owner=old, number="C-RACE-1", name="Late"),
    )
    assert transfer.error is None
    assert isinstance(create.error, ValidationError)
    assert create.error.error_dict["owner"][0].code == "owner_inactive"
    assert not Client.objects.filter(number="C-RACE-1").exists()
    assert owned_by(old) == 0
    assert not User.objects.get(pk=old.pk).is_active


def test_record_created_just_before_a_deactivating_transfer_is_moved(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    small_firm(old)
    create, transfer = race(
        clients.services,
        "validate_owner",
        lambda: client_create(
            acting_user=administrator, owner=old, number="C-RACE-2", name="Early"
        ),
        lambda: records_transfer_all(
            acting_user=administrator, old_user=old, new_user=new, deactivate_old_user=True
        ),
    )
    assert create.error is None
    assert transfer.error is None
    assert Client.objects.get(number="C-RACE-2").owner_id == new.pk
    assert transfer.result.transfer.record_counts["client"] == 2
    assert owned_by(old) == 0


def test_new_user_deactivated_during_a_transfer_is_refused_owns_records(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    small_firm(old)
    transfer, deactivate = race_at_step(
        "move_shares",
        lambda: records_transfer_all(acting_user=administrator, old_user=old, new_user=new),
        lambda: user_set_active(user=new, is_active=False, acting_user=administrator),
    )
    assert transfer.error is None
    assert deactivate.error.code == "owns_records"
    assert User.objects.get(pk=new.pk).is_active
    assert owned_by(new) == 3


def test_transfer_to_a_user_being_deactivated_is_refused(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    small_firm(old)
    deactivate, transfer = race(
        users.services,
        "deactivation_refusal",
        lambda: user_set_active(user=new, is_active=False, acting_user=administrator),
        lambda: records_transfer_all(acting_user=administrator, old_user=old, new_user=new),
    )
    assert deactivate.error is None
    assert transfer.error.code == "new_user_inactive"
    assert owned_by(old) == 3
    assert Transfer.objects.count() == 0


def test_double_submission_lands_on_one_receipt(administrator):
    old, new = OwnerFactory(), OwnerFactory()
    small_firm(old)

    def submit():
        return records_transfer_all(
            acting_user=administrator, old_user=old, new_user=new, request_key="same"
        )

    calls = race_at_step("move_shares", submit, submit)
    assert [worker.error for worker in calls] == [None, None]
    assert calls[0].result.transfer.pk == calls[1].result.transfer.pk
    assert [worker.result.replayed for worker in calls] == [False, True]
    assert Transfer.objects.count() == 1


def test_two_superusers_deactivated_at_once_leave_one_active(administrator):
    """Each deactivation alone would see the other superuser as still active;
    together they must not leave the firm without one."""
    first_super = OwnerFactory(username="super.one", is_superuser=True)
    second_super = OwnerFactory(username="super.two", is_superuser=True)
    first, second = race(
        users.services,
        "deactivation_refusal",
        lambda: user_set_active(user=first_super, is_active=False, acting_user=administrator),
        lambda: user_set_active(user=second_super, is_active=False, acting_user=administrator),
    )
    assert first.error is None
    assert isinstance(second.error, ValidationError)
    assert second.error.code == "last_superuser"
    assert User.objects.filter(is_superuser=True, is_active=True).count() == 1


def test_a_user_deleted_while_being_given_records_leaves_no_record_without_owner():
    """The owner foreign keys are checked at commit (clients migration 0006): a
    deletion does not wait for a transaction that gives the user records but
    has not committed; that transaction is then refused at its commit."""
    case, holder = CaseFactory(), UserFactory()
    give, delete = race_held(
        after_call(Sql, "run"),
        sql_in_transaction(GIVE_CASE, [holder.pk, case.pk]),
        sql_in_transaction(DELETE_USER, [holder.pk]),
        second_waits=False,
    )
    assert delete.error is None
    assert isinstance(give.error, IntegrityError)
    assert 'is not present in table "users_user"' in str(give.error)
    assert Case.objects.get(pk=case.pk).owner_id == case.owner_id
    assert not User.objects.filter(pk=holder.pk).exists()


def test_records_are_not_given_to_a_user_being_deleted():
    case, holder = CaseFactory(), UserFactory()
    delete, give = race_held(
        after_call(Sql, "run"),
        sql_in_transaction(DELETE_USER, [holder.pk]),
        sql_in_transaction(GIVE_CASE, [holder.pk, case.pk]),
    )
    # The give's check at commit waits for the deletion's row lock, then sees it.
    assert delete.error is None
    assert isinstance(give.error, IntegrityError)
    assert 'is not present in table "users_user"' in str(give.error)
    assert Case.objects.get(pk=case.pk).owner_id == case.owner_id
    assert not User.objects.filter(pk=holder.pk).exists()
