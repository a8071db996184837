"""Writes about users. `user_set_active` is the only code that changes is_active."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from users.models import User
from users.selectors import user_owns_anything

DEACTIVATION_ERRORS = {
    "deactivate_self": "You cannot deactivate your own account.",
    "last_superuser": "{name} is the last active superuser and cannot be deactivated.",
    "owns_records": (
        "{name} still owns clients, matters or cases. Transfer them to another user first."
    ),
}


def user_create(
    *,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    groups: Iterable[Group] = (),
    acting_user: User | None = None,
) -> User:
    with transaction.atomic():
        user = User(username=username, first_name=first_name, last_name=last_name, email=email)
        user.set_password(password)
        user.full_clean()
        user.save()
        user.groups.set(groups)
    return user


def user_update(
    *,
    user: User,
    acting_user: User | None,
    first_name: str,
    last_name: str,
    email: str,
    groups: Iterable[Group],
    is_active: bool | None = None,
) -> User:
    with transaction.atomic():
        user.first_name = first_name
        user.last_name = last_name
        user.email = email
        user.full_clean()
        user.save(update_fields=["first_name", "last_name", "email"])
        user.groups.set(groups)
        if is_active is not None and is_active != user.is_active:
            user_set_active(user=user, is_active=is_active, acting_user=acting_user)
    return user


def deactivation_refusal(*, user: User, acting_user: User | None) -> ValidationError | None:
    """Why `user` may not be deactivated now, or None when they may."""
    name = user.full_name
    if acting_user is not None and acting_user.pk == user.pk:
        return ValidationError(DEACTIVATION_ERRORS["deactivate_self"], code="deactivate_self")
    if user.is_superuser and not (
        User.objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk).exists()
    ):
        return ValidationError(
            DEACTIVATION_ERRORS["last_superuser"].format(name=name), code="last_superuser"
        )
    if user_owns_anything(user):
        return ValidationError(
            DEACTIVATION_ERRORS["owns_records"].format(name=name), code="owns_records"
        )
    return None


# Any fixed number: the key of the advisory lock taken while a superuser is deactivated.
SUPERUSER_DEACTIVATION_LOCK = 7_340_001


def _superuser_deactivations_serialize() -> None:
    """Make concurrent deactivations of superusers wait for each other, so two
    of them can never each see the other as "another active superuser" and
    leave none. SQLite's IMMEDIATE transactions already serialize writers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SUPERUSER_DEACTIVATION_LOCK])


def user_set_active(*, user: User, is_active: bool, acting_user: User | None) -> User:
    """Activate or deactivate an account.

    Deactivation is refused for one's own account, the last active superuser
    and anyone who still owns records. A deactivated user's sessions stop
    working on their next request, because the authentication backend no
    longer returns inactive users.
    """
    with transaction.atomic():
        # Lock the row and check under the lock, so a deactivation waits for
        # a transfer to or from this user (and a record creation for them)
        # and then sees what it left behind.
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not is_active and locked.is_superuser:
            _superuser_deactivations_serialize()
        if not is_active:
            refusal = deactivation_refusal(user=locked, acting_user=acting_user)
            if refusal is not None:
                raise refusal
        User.objects.filter(pk=user.pk).update(is_active=is_active)
    user.is_active = is_active
    return user
