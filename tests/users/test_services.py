"""The users services: deactivation and its refusals."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import ClientFactory, OwnerFactory, UserFactory
from users import groups
from users.services import user_set_active

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["deactivate_self", "last_superuser", "owns_records"])
def test_deactivation_refusals(code):
    admin = UserFactory(is_superuser=True)
    if code == "deactivate_self":
        target, actor = admin, admin
    elif code == "last_superuser":
        target, actor = admin, UserFactory(groups=[groups.ADMINISTRATORS])
    else:
        target, actor = ClientFactory().owner, admin
    with pytest.raises(ValidationError) as excinfo:
        user_set_active(user=target, is_active=False, acting_user=actor)
    assert excinfo.value.code == code
    target.refresh_from_db()
    assert target.is_active


def test_deactivation_and_reactivation():
    actor = UserFactory(is_superuser=True)
    user = OwnerFactory()
    user_set_active(user=user, is_active=False, acting_user=actor)
    user.refresh_from_db()
    assert not user.is_active
    user_set_active(user=user, is_active=True, acting_user=actor)
    user.refresh_from_db()
    assert user.is_active
