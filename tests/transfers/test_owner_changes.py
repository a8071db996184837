"""Owner changes outside a transfer are receipts of mode OWNER_CHANGE: the
receipt page, Transfer History and Revert treat them like any other."""

import pytest
from django.urls import reverse

from clients.selectors import record_ownership_history
from clients.services import record_owner_change
from tests.factories import CaseFactory, OwnerFactory
from tests.helpers import default_groups_restore
from transfers.engine.services import transfer_revert
from transfers.models import Transfer, TransferRecipient, TransferredRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def changed(administrator):
    owen = OwnerFactory(username="owen.owner", first_name="Owen", last_name="Owner")
    nina = OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    case = CaseFactory(matter__client__owner=owen, matter__owner=owen, owner=owen)
    record_owner_change(acting_user=administrator, record=case, new_owner=nina)
    return owen, nina, case, Transfer.objects.get()


def test_the_receipt_holds_who_when_from_and_to(administrator, changed):
    owen, nina, case, receipt = changed
    assert (receipt.mode, receipt.actor, receipt.actor_name) == (
        Transfer.Mode.OWNER_CHANGE,
        administrator,
        "Olivia Grant",
    )
    assert (receipt.from_user, receipt.from_user_name, receipt.record_counts["case"]) == (
        owen,
        "Owen Owner",
        1,
    )
    recipient = TransferRecipient.objects.get(transfer=receipt)
    assert (recipient.to_user, recipient.to_user_name, recipient.record_counts["case"]) == (
        nina,
        "Nina New",
        1,
    )
    row = TransferredRecord.objects.get(transfer=receipt)
    assert (row.record_type, row.record_id, row.from_user, row.to_user) == (
        "case",
        case.pk,
        owen,
        nina,
    )
    case.refresh_from_db()
    assert case.updated_at == receipt.created_at


def test_names_survive_the_deletion_of_both_users(administrator, changed):
    owen, nina, case, receipt = changed
    # Give the case to a third owner, then delete the first two.
    third = OwnerFactory(first_name="Tess", last_name="Third")
    record_owner_change(acting_user=administrator, record=case, new_owner=third)
    record_owner_change(acting_user=administrator, record=case.matter, new_owner=third)
    record_owner_change(acting_user=administrator, record=case.matter.client, new_owner=third)
    owen.delete()
    nina.delete()
    oldest = record_ownership_history(record=case)[-1]
    assert (oldest.from_name, oldest.to_name) == ("Owen Owner", "Nina New (deleted since)")


def test_receipt_page_history_and_revert(client, administrator, changed):
    owen, nina, case, receipt = changed
    client.force_login(administrator)
    page = client.get(reverse("transfers:transfer_detail", args=[receipt.pk])).content.decode()
    assert f"Transfer #{receipt.pk}: Owner change" in page
    listing = client.get(reverse("transfers:transfer_list")).content.decode()
    assert "Owner change" in listing

    revert = transfer_revert(acting_user=administrator, transfer=receipt).transfer
    case.refresh_from_db()
    assert case.owner == owen and revert.record_counts["case"] == 1
    history = record_ownership_history(record=case)
    assert [(e.from_name, e.to_name, e.is_revert, e.is_owner_change) for e in history] == [
        ("Nina New", "Owen Owner", True, False),
        ("Owen Owner", "Nina New", False, True),
    ]


@pytest.fixture
def default_groups(transactional_db):
    """A transactional test before this one flushed the groups: put them back."""
    default_groups_restore()


@pytest.mark.django_db(transaction=True)
def test_owner_changes_logged_by_the_admin_before_receipts_are_read_back(
    default_groups, administrator
):
    """The data migration turns the admin's log of earlier owner changes into
    receipts, so those records no longer claim "Never transferred". It runs on
    the schema it was written for (the receipts migrated back to it), and the
    later migrations carry its receipts forward."""
    import importlib

    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    written_for = [("transfers", "0006_owner_changes_from_admin_log")]
    MigrationExecutor(connection).migrate(written_for)

    migration = importlib.import_module("transfers.migrations.0006_owner_changes_from_admin_log")
    owen = OwnerFactory(username="owen.owner", first_name="Owen", last_name="Owner")
    nina = OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    case = CaseFactory(matter__client__owner=nina, matter__owner=nina, owner=nina)
    entry = LogEntry.objects.create(
        user=administrator,
        content_type=ContentType.objects.get_for_model(case),
        object_id=str(case.pk),
        object_repr=str(case),
        action_flag=CHANGE,
        change_message=(
            f"Changed owner from Owen Owner (#{owen.pk}) to Nina New (#{nina.pk}). Changed Court."
        ),
    )
    LogEntry.objects.create(  # not an owner change
        user=administrator,
        content_type=ContentType.objects.get_for_model(case),
        object_id=str(case.pk),
        object_repr=str(case),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Court"]}}]',
    )
    try:
        old_state = MigrationExecutor(connection).loader.project_state(written_for)
        migration.receipts_from_admin_log(old_state.apps, None)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    [event] = record_ownership_history(record=case)
    assert (event.from_name, event.to_name, event.actor_name, event.happened_at) == (
        "Owen Owner",
        "Nina New",
        "Olivia Grant",
        entry.action_time,
    )
    assert event.is_owner_change
    receipt = Transfer.objects.get(mode=Transfer.Mode.OWNER_CHANGE)
    assert receipt.record_counts.phrases(zeros=False) == ["1 case"]
