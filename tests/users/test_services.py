"""The users services: deactivation and its refusals."""

import pytest
from django.core.exceptions import ValidationError

from tests.factories import ClientFactory, OwnerFactory, UserFactory
from users import groups
from users.models import AccountEvent
from users.services import user_access_update, user_set_active

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


@pytest.mark.parametrize(
    ("flags", "detail"),
    [
        ({"is_superuser": True}, "Superuser given"),
        ({"is_staff": True}, "Staff access given"),
        ({"is_staff": True, "is_superuser": True}, "Staff access given; superuser given"),
    ],
)
def test_every_flag_change_is_written_in_the_account_history(flags, detail):
    """Making someone a superuser, or taking it away, is on the record with its actor."""
    actor = UserFactory(is_superuser=True)
    user = UserFactory()
    user_access_update(user=user, acting_user=actor, **flags)
    event = AccountEvent.objects.get(user=user, kind=AccountEvent.Kind.ACCESS_CHANGED)
    assert (event.detail, event.actor) == (detail, actor)

    user_access_update(user=user, acting_user=actor, **dict.fromkeys(flags, False))
    taken = AccountEvent.objects.filter(user=user, kind=AccountEvent.Kind.ACCESS_CHANGED)
    assert taken.latest("pk").detail == detail.replace("given", "removed")
