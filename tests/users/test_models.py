import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from clients.models import Client
from tests.factories import ClientFactory, OwnerFactory, UserFactory
from users import groups

pytestmark = pytest.mark.django_db


def test_full_name_falls_back_to_username():
    assert UserFactory(username="jdoe", first_name="", last_name="").full_name == "jdoe"
    assert str(UserFactory(first_name="Dana", last_name="Reyes")) == "Dana Reyes"


def test_inactive_owner_is_refused_by_model_validation():
    owner = OwnerFactory(is_active=False)
    client = ClientFactory.build(owner=owner)
    with pytest.raises(ValidationError) as excinfo:
        client.full_clean()
    assert excinfo.value.error_dict["owner"][0].code == "owner_inactive"


def test_ineligible_owner_is_refused_by_model_validation():
    client = ClientFactory.build(owner=UserFactory(groups=[groups.MANAGERS]))
    with pytest.raises(ValidationError) as excinfo:
        client.full_clean()
    assert excinfo.value.error_dict["owner"][0].code == "owner_ineligible"


def test_unchanged_owner_does_not_block_editing_other_fields():
    client = ClientFactory()
    client.owner.groups.clear()
    client.name = "Renamed"
    client.full_clean()


def test_user_who_owns_records_cannot_be_deleted():
    client = ClientFactory()
    with pytest.raises(ProtectedError):
        client.owner.delete()
    assert Client.objects.filter(pk=client.pk).exists()
