"""The registry of owned record types (clients.record_types) against the code
that reads it: every model with an owner is in it, its share models are the
ones that point at it, and the transfer engine, the receipts, the workload
counts and the record pages all follow it."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from clients import selectors as client_selectors
from clients.models import Client
from clients.record_types import (
    RECORD_MODELS,
    RECORD_TYPES,
    SHARE_MODELS,
    RecordCounts,
    record_type_of,
)
from tests.factories import CaseFactory, DeadlineFactory
from transfers.engine import progress
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from transfers.receipts import record_history
from transfers.receipts.selectors import RECEIPT_ROW_ORDER
from transfers.web.receipt_views import RECORD_URL_NAMES
from users.models import User
from users.ownership import owned_models
from users.selectors import with_workload


def _models_owned_by_users():
    for model in apps.get_models():
        field = next((f for f in model._meta.fields if f.name == "owner"), None)
        if field is not None and field.related_model is User:
            yield model


def _share_models_of(model, base):
    return {
        share
        for share in apps.get_models()
        if issubclass(share, base)
        and share._meta.get_field("content_object").related_model is model
    }


def test_every_model_owned_by_a_user_is_registered_once():
    assert set(_models_owned_by_users()) == set(RECORD_MODELS)
    assert len(RECORD_MODELS) == len(set(RECORD_MODELS)) == 4
    assert [t.name for t in RECORD_TYPES] == ["client", "matter", "case", "deadline"]


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.name)
def test_share_models_are_the_guardian_tables_of_the_model(record_type):
    model = record_type.model
    assert _share_models_of(model, UserObjectPermissionBase) == {record_type.user_share_model}
    assert _share_models_of(model, GroupObjectPermissionBase) == {record_type.group_share_model}
    assert SHARE_MODELS[model] == (record_type.user_share_model, record_type.group_share_model)


@pytest.mark.parametrize("record_type", RECORD_TYPES, ids=lambda t: t.name)
def test_names_and_fields_match_the_model(record_type):
    meta = record_type.model._meta
    assert record_type.name == meta.model_name
    assert record_type.label == str(meta.verbose_name).capitalize()
    assert record_type.plural == str(meta.verbose_name_plural)
    meta.get_field(record_type.label_field)
    for name in (*record_type.row_related, *record_type.page_related):
        assert meta.get_field(name).is_relation
    if record_type.under_client:
        assert (
            meta.get_field(record_type.client_field).related_model is record_type_of(Client).model
        )
    else:
        assert record_type.client_field == "id"


def test_lookups_by_model_and_record():
    for record_type in RECORD_TYPES:
        assert record_type_of(record_type.model) is record_type
    with pytest.raises(KeyError):
        record_type_of(User)


@pytest.mark.django_db
def test_a_records_type_and_url_name_lead_to_its_page():
    deadline = DeadlineFactory()
    case = deadline.case
    for record in (case.client, case.matter, case, deadline):
        record_type = record_type_of(record)
        assert record_type.model is type(record)
        assert reverse(record_type.url_name, args=[record.pk]) == record.get_absolute_url()
        assert reverse(record_type.list_url_name) == f"/{record_type.plural}/"


def test_receipts_have_one_type_per_record_type_and_per_its_shares():
    choices = dict(TransferredRecord.RecordType.choices)
    expected = {t.name: t.label for t in RECORD_TYPES}
    expected |= {t.share_name: t.share_label for t in RECORD_TYPES}
    assert choices == expected
    assert TransferredRecord.RecordType.CASE_SHARE == "case_share"
    assert list(RECEIPT_ROW_ORDER) == [
        *(t.name for t in RECORD_TYPES),
        *(t.share_name for t in RECORD_TYPES),
    ]
    assert set(RECORD_URL_NAMES) == set(choices)


@pytest.mark.django_db
def test_the_receipt_choices_need_no_migration():
    out = StringIO()
    call_command("makemigrations", "transfers", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_counts_are_keyed_by_every_record_type_and_kept_as_json():
    counts = RecordCounts({"case": 3, "client": 1}, shares=2)
    assert list(counts) == [t.name for t in RECORD_TYPES]
    assert (counts.records, counts.total) == (4, 6)
    assert counts.phrases(zeros=False) == ["1 client", "3 cases", "2 shares"]
    assert RecordCounts.from_json(counts.to_json()) == counts
    assert counts + counts == RecordCounts({"case": 6, "client": 2}, shares=4)
    for model in (Transfer, TransferRecipient):
        assert model._meta.get_field("counts").get_internal_type() == "JSONField"


def test_every_phase_of_the_engine_has_a_label():
    assert progress.PHASES[: len(RECORD_TYPES)] == tuple(t.plural for t in RECORD_TYPES)
    assert set(progress.PHASES) == set(progress.PHASE_LABELS)


def test_the_apps_filled_in_the_hooks_of_the_layers_below():
    """users counts what clients registered; clients shows the history transfers keeps."""
    assert owned_models() == {t.count_field: t.model for t in RECORD_TYPES}
    assert client_selectors._history_reader is record_history.record_ownership_history


@pytest.mark.django_db
def test_the_workload_counts_every_registered_type():
    case = CaseFactory()
    owner = with_workload(User.objects.filter(pk=case.owner_id)).get()
    for record_type in RECORD_TYPES:
        expected = record_type.model.objects.filter(owner=case.owner).count()
        assert getattr(owner, record_type.count_field) == expected
