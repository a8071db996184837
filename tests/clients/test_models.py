"""Record numbers stay unique now that a constraint, not unique=True, keeps them so
(see clients migration 0004): the same message on the field, and the database
refuses what skips validation. Every owner exists, checked by a foreign key on
both databases (clients migration 0006): the database refuses a missing owner
and the deletion of a user who still owns a record."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from clients.models import Case, Client, Matter
from tests.factories import UserFactory
from users.models import User

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


OWNER_REFUSED = (
    r'violates foreign key constraint "clients_\w+_owner_id_\w+"'
    r"|invalid foreign key: clients_\w+\.owner_id"
)


def checked(write) -> None:
    """`write`, and the database's checks of it: the foreign keys are checked at
    commit on both databases, here asked for at once."""
    with transaction.atomic():
        write()
        connection.check_constraints()


def user_delete_in_sql(user_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM users_user WHERE id = %s", [user_id])


def no_such_user() -> int:
    return User.objects.order_by("-pk").values_list("pk", flat=True).first() + 1_000


@pytest.mark.parametrize("model", [Client, Matter, Case])
def test_the_database_refuses_an_owner_who_does_not_exist(attorney_firm, model):
    record = model.objects.order_by("pk").first()
    with pytest.raises(IntegrityError, match=OWNER_REFUSED):
        checked(lambda: model.objects.filter(pk=record.pk).update(owner_id=no_such_user()))
    assert model.objects.get(pk=record.pk).owner_id == record.owner_id

    copy = model.objects.get(pk=record.pk)
    copy.pk, copy.number, copy.owner_id = None, f"{record.number}-COPY", no_such_user()
    before = model.objects.count()
    with pytest.raises(IntegrityError, match=OWNER_REFUSED):
        checked(lambda: model.objects.bulk_create([copy]))
    assert model.objects.count() == before


@pytest.mark.parametrize("model", [Client, Matter, Case])
def test_the_database_refuses_to_delete_a_user_who_owns_a_record(attorney_firm, model):
    holder = UserFactory()
    record = model.objects.order_by("pk").first()
    model.objects.filter(pk=record.pk).update(owner=holder)
    with pytest.raises(IntegrityError, match=OWNER_REFUSED):
        checked(lambda: user_delete_in_sql(holder.pk))
    assert User.objects.filter(pk=holder.pk).exists()
    assert model.objects.get(pk=record.pk).owner_id == holder.pk


def test_the_database_lets_a_user_who_owns_nothing_be_deleted(attorney_firm):
    bystander = UserFactory()
    checked(lambda: user_delete_in_sql(bystander.pk))
    assert not User.objects.filter(pk=bystander.pk).exists()
