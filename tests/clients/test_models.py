"""Record numbers stay unique now that a constraint, not unique=True, keeps them so
(see clients migration 0004): the same message on the field, and the database
refuses what skips validation."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clients.models import Case, Client, Matter

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("record_name", "noun"),
    [("hoffmann", "Client"), ("hoffmann_matter", "Matter"), ("hoffmann_case", "Case")],
)
def test_a_duplicate_number_is_a_field_error(attorney_firm, record_name, noun):
    existing = getattr(attorney_firm, record_name)
    duplicate = type(existing).objects.get(pk=existing.pk)
    duplicate.pk = None
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert refused.value.message_dict["number"] == [f"{noun} with this Number already exists."]


@pytest.mark.parametrize("model", [Client, Matter, Case])
def test_the_database_refuses_a_duplicate_number(attorney_firm, model):
    existing = model.objects.order_by("pk").first()
    before = model.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=existing.pk).update(
            number=model.objects.exclude(pk=existing.pk).values_list("number", flat=True).first()
        )
    assert model.objects.count() == before
    existing.refresh_from_db()
    assert model.objects.filter(number=existing.number).count() == 1
