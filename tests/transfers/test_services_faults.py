"""Fault injection: an error at any step of a transfer or revert leaves the
database exactly as it was (one transaction, rolled back)."""

from unittest import mock

import pytest

from clients.record_types import RECORD_TYPES
from tests.helpers import snapshot
from tests.transfers.engine_support import at_step
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.models import TransferRecipient

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def fail_at(step: str, call: int):
    """Raise Boom once `step` has run for the `call`-th time, so the step's
    own writes happened and must be rolled back."""

    def boom(**details):
        raise Boom(f"{step} call {call}")

    return at_step(step, boom, call=call)


STEPS = [
    # (step, which call fails)
    ("locked", 1),  # once the users are locked, before anything moved
    ("audit_owned", 1),  # the first receipt rows (clients)
    ("audit_owned", 3),  # during the receipt inserts, after some owners moved
    ("move_owned", 1),  # right after the first owner update
    ("move_owned", 3),  # after all owner updates
    ("move_shares", 2),  # in the middle of the share moves
    ("move_shares", 3),
    ("revoke_shares", 1),  # after the shares not moved were revoked (per client: one)
    ("deactivate", 1),  # at deactivation, after it ran
]


def transfer_all(mixed_firm, administrator):
    return records_transfer_all(
        acting_user=administrator,
        old_user=mixed_firm.old,
        new_user=mixed_firm.new,
        deactivate_old_user=True,
    ).transfer


def transfer_per_client(mixed_firm, administrator):
    return records_transfer_per_client(
        acting_user=administrator,
        old_user=mixed_firm.old,
        assignments={
            mixed_firm.own_client.pk: mixed_firm.new,
            mixed_firm.others_client.pk: mixed_firm.other,
        },
        deactivate_old_user=True,
    ).transfer


@pytest.mark.parametrize(("step", "call"), STEPS)
@pytest.mark.parametrize("transfer", [transfer_all, transfer_per_client])
def test_a_fault_at_any_step_changes_nothing(mixed_firm, administrator, step, call, transfer):
    before = snapshot()
    with fail_at(step, call), pytest.raises(Boom):
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
    failing = mock.patch("transfers.engine.receipts.user_set_active", side_effect=Boom)
    with failing, pytest.raises(Boom):
        transfer_all(mixed_firm, administrator)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("step", "call"),
    [
        ("locked", 1),
        ("reactivate", 1),
        ("revert_owned", 1),
        ("revert_owned", 3),
        ("revert_shares", 3),
    ],
)
def test_a_fault_during_a_revert_changes_nothing(mixed_firm, administrator, step, call):
    transfer = transfer_all(mixed_firm, administrator)
    before = snapshot()
    with fail_at(step, call), pytest.raises(Boom):
        transfer_revert(acting_user=administrator, transfer=transfer)
    assert snapshot() == before
    transfer_revert(acting_user=administrator, transfer=transfer)


def test_a_failing_mail_server_does_not_undo_the_transfer(
    mixed_firm, administrator, django_capture_on_commit_callbacks
):
    failing = mock.patch(
        "transfers.receipts.notifications.get_connection", side_effect=ConnectionRefusedError
    )
    with failing, django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_all(mixed_firm, administrator)
    transfer.refresh_from_db()
    assert transfer.record_count == 6


def test_every_step_is_reached_in_order(mixed_firm, administrator):
    """The seam the tests above use: each step of a deactivating transfer and
    of its revert reaches transfers.engine.faults.fault_point, in the order it runs."""
    steps = []

    def note(**details):
        steps.append(details)

    with at_step("locked", note) as reached:
        transfer = transfer_all(mixed_firm, administrator)
    types = len(RECORD_TYPES)
    assert reached == {
        "locked": 1,
        "audit_owned": types,
        "move_owned": types,
        "move_shares": types,
        "revoke_shares": 1,
        "deactivate": 1,
    }
    assert steps == [{"user_ids": sorted([mixed_firm.old.pk, mixed_firm.new.pk])}]
    with at_step("reactivate", note) as reached:
        transfer_revert(acting_user=administrator, transfer=transfer)
    assert reached == {
        "locked": 1,
        "reactivate": 1,
        "revert_owned": types,
        "revert_shares": types,
    }
    assert steps[-1] == {"user_id": mixed_firm.old.pk}


@pytest.mark.parametrize("step", ["revert_shares", "restore_shares"])
def test_a_fault_while_giving_revoked_shares_back_changes_nothing(mixed_firm, administrator, step):
    transfer = transfer_per_client(mixed_firm, administrator)
    assert transfer.revoked_share_count == 1
    before = snapshot()
    with fail_at(step, len(RECORD_TYPES)), pytest.raises(Boom):
        transfer_revert(acting_user=administrator, transfer=transfer)
    assert snapshot() == before
    revert = transfer_revert(acting_user=administrator, transfer=transfer).transfer
    assert revert.revoked_share_count == 1
