"""Fault injection: an error at any step of a transfer or revert leaves the
database exactly as it was (one transaction, rolled back)."""

from unittest import mock

import pytest

import transfers.services as services
from tests.conftest import snapshot
from transfers.models import TransferRecipient
from transfers.services import records_transfer_all, records_transfer_per_client, transfer_revert

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def fail_on_call(real, number: int):
    """Wrap `real` so that its `number`-th call raises Boom (after running,
    so the step's own writes happened and must be rolled back)."""
    calls = {"n": 0}

    def wrapper(**kwargs):
        calls["n"] += 1
        result = real(**kwargs)
        if calls["n"] == number:
            raise Boom(f"{real.__name__} call {number}")
        return result

    return wrapper


STEPS = [
    # (step, which call fails)
    ("_audit_owned", 1),  # the first receipt rows (clients)
    ("_audit_owned", 3),  # during the receipt inserts, after some owners moved
    ("_move_owned", 1),  # right after the first owner update
    ("_move_owned", 3),  # after all owner updates
    ("_move_shares", 2),  # in the middle of the share moves
    ("_move_shares", 3),
    ("_deactivate", 1),  # at deactivation, after it ran
]


def transfer_all(mixed_firm, administrator):
    return records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    )


def transfer_per_client(mixed_firm, administrator):
    return records_transfer_per_client(
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: mixed_firm.other,
        },
        deactivate_old_user=True,
    )


@pytest.mark.parametrize(("step", "call"), STEPS)
@pytest.mark.parametrize("transfer", [transfer_all, transfer_per_client])
def test_a_fault_at_any_step_changes_nothing(mixed_firm, administrator, step, call, transfer):
    before = snapshot()
    failing = mock.patch.object(services, step, fail_on_call(getattr(services, step), call))
    with failing, pytest.raises(Boom):
        transfer(mixed_firm, administrator)
    assert snapshot() == before
    # And the same transfer then succeeds.
    transfer(mixed_firm, administrator)
    mixed_firm.old.refresh_from_db()
    assert not mixed_firm.old.is_active


def test_a_fault_writing_the_receipt_changes_nothing(mixed_firm, administrator):
    before = snapshot()
    failing = mock.patch.object(TransferRecipient.objects, "bulk_create", side_effect=Boom)
    with failing, pytest.raises(Boom):
        transfer_all(mixed_firm, administrator)
    assert snapshot() == before


def test_a_fault_in_the_deactivation_itself_changes_nothing(mixed_firm, administrator):
    before = snapshot()
    failing = mock.patch("transfers.services.user_set_active", side_effect=Boom)
    with failing, pytest.raises(Boom):
        transfer_all(mixed_firm, administrator)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("step", "call"),
    [("_revert_owned", 1), ("_revert_owned", 3), ("_revert_shares", 3), ("_reactivate", 1)],
)
def test_a_fault_during_a_revert_changes_nothing(mixed_firm, administrator, step, call):
    transfer = transfer_all(mixed_firm, administrator)
    before = snapshot()
    failing = mock.patch.object(services, step, fail_on_call(getattr(services, step), call))
    with failing, pytest.raises(Boom):
        transfer_revert(acting_user=administrator, transfer=transfer)
    assert snapshot() == before
    transfer_revert(acting_user=administrator, transfer=transfer)


def test_a_failing_mail_server_does_not_undo_the_transfer(
    mixed_firm, administrator, django_capture_on_commit_callbacks
):
    failing = mock.patch(
        "transfers.notifications.get_connection", side_effect=ConnectionRefusedError
    )
    with failing, django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_all(mixed_firm, administrator)
    transfer.refresh_from_db()
    assert transfer.record_count == 6
