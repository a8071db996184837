"""Writes about users. `user_set_active` is the only code that changes
is_active, `user_access_update` the only one that changes groups, permissions
and the staff and superuser flags; both write the account's history
(AccountEvent) in the same transaction."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from users.models import AccountEvent, User
from users.selectors import user_may_own_records, user_owns_anything

DEACTIVATION_ERRORS = {
    "deactivate_self": "You cannot deactivate your own account.",
    "last_superuser": "{name} is the last active superuser and cannot be deactivated.",
    "owns_records": (
        "{name} still owns clients, matters or cases. Transfer them to another user first."
    ),
}
ACCESS_ERRORS = {
    "owner_permission_removed": (
        "{name} still owns clients, matters or cases, so they must stay allowed to own them "
        "(in a group that may own records). Transfer them to another user first."
    ),
}
# Refusals that a transfer to another user resolves: shown with a link to User Transfer All.
TRANSFER_FIRST_CODES = frozenset({"owns_records", "owner_permission_removed"})


def _name(user: User | None) -> str:
    return user.full_name if user is not None else ""


def account_event_record(
    *,
    user: User,
    kind: str,
    acting_user: User | None,
    detail: str = "",
    receipt_number: int | None = None,
    actor_name: str | None = None,
) -> AccountEvent:
    """`actor_name` names the actor when it is not simply `acting_user` (an API
    token acting for the administrator who created it)."""
    return AccountEvent.objects.create(
        user=user,
        user_name=user.full_name,
        kind=kind,
        actor=acting_user,
        actor_name=actor_name if actor_name is not None else _name(acting_user),
        detail=detail,
        receipt_number=receipt_number,
    )


@dataclass(frozen=True)
class AccessSnapshot:
    """What an account may do, read before and after a change to compare."""

    groups: tuple[str, ...]
    permissions: tuple[str, ...]
    is_staff: bool
    is_superuser: bool
    may_own_records: bool


def access_snapshot(user: User) -> AccessSnapshot:
    stored = User.objects.get(pk=user.pk)
    return AccessSnapshot(
        groups=tuple(stored.groups.order_by("name").values_list("name", flat=True)),
        permissions=tuple(
            f"{app}.{codename}"
            for app, codename in stored.user_permissions.order_by(
                "content_type__app_label", "codename"
            ).values_list("content_type__app_label", "codename")
        ),
        is_staff=stored.is_staff,
        is_superuser=stored.is_superuser,
        may_own_records=user_may_own_records(stored),
    )


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names) if names else "none"


def ownership_permission_refusal(*, user: User) -> ValidationError:
    return ValidationError(
        ACCESS_ERRORS["owner_permission_removed"].format(name=user.full_name),
        code="owner_permission_removed",
    )


def user_access_update(
    *,
    user: User,
    acting_user: User | None,
    groups: Iterable[Group] | None = None,
    user_permissions: Iterable[Permission] | None = None,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
    actor_name: str | None = None,
) -> User:
    """Change a user's groups, direct permissions or staff and superuser flags
    (None leaves one as it is), and record what changed.

    Refused (ValidationError, code owner_permission_removed, nothing changed)
    when the user owns records and would lose the permission to own them. The
    user's row is locked first, so a record being created for them waits and
    then sees the new permissions.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = access_snapshot(locked)
        flags = {}
        if is_staff is not None and is_staff != locked.is_staff:
            flags["is_staff"] = is_staff
        if is_superuser is not None and is_superuser != locked.is_superuser:
            flags["is_superuser"] = is_superuser
        if flags:
            User.objects.filter(pk=user.pk).update(**flags)
            for field, value in flags.items():
                setattr(user, field, value)
        if groups is not None:
            user.groups.set(groups)
        if user_permissions is not None:
            user.user_permissions.set(user_permissions)
        after = access_snapshot(locked)
        if before.may_own_records and not after.may_own_records and user_owns_anything(locked):
            raise ownership_permission_refusal(user=locked)
        if before.groups != after.groups:
            account_event_record(
                user=locked,
                kind=AccountEvent.Kind.GROUPS_CHANGED,
                acting_user=acting_user,
                actor_name=actor_name,
                detail=f"Groups: {_listed(before.groups)} → {_listed(after.groups)}",
            )
        changes = []
        if before.is_staff != after.is_staff:
            changes.append("staff access " + ("given" if after.is_staff else "removed"))
        if before.is_superuser != after.is_superuser:
            changes.append("superuser " + ("given" if after.is_superuser else "removed"))
        if before.permissions != after.permissions:
            changes.append(
                f"permissions: {_listed(before.permissions)} → {_listed(after.permissions)}"
            )
        if changes:
            account_event_record(
                user=locked,
                kind=AccountEvent.Kind.ACCESS_CHANGED,
                acting_user=acting_user,
                actor_name=actor_name,
                detail="; ".join(changes).capitalize(),
            )
    return user


def user_create(
    *,
    username: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    groups: Iterable[Group] = (),
    acting_user: User | None = None,
    actor_name: str | None = None,
) -> User:
    with transaction.atomic():
        user = User(username=username, first_name=first_name, last_name=last_name, email=email)
        user.set_password(password)
        user.full_clean()
        user.save()
        user.groups.set(groups)
        names = ", ".join(sorted(group.name for group in groups))
        account_event_record(
            user=user,
            kind=AccountEvent.Kind.CREATED,
            acting_user=acting_user,
            actor_name=actor_name,
            detail=f"Groups: {names}" if names else "",
        )
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
    actor_name: str | None = None,
) -> User:
    """Save the details; change groups and the active state through
    user_access_update and user_set_active. Every refusal is raised at once
    as ValidationError({"groups": ..., "is_active": ...}); nothing is saved."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        errors = {}
        try:
            user_access_update(
                user=user, acting_user=acting_user, groups=groups, actor_name=actor_name
            )
        except ValidationError as error:  # its savepoint was rolled back
            errors["groups"] = error
        if is_active is not None and is_active != locked.is_active:
            refusal = None
            if not is_active:
                refusal = deactivation_refusal(user=locked, acting_user=acting_user)
            if refusal is not None:
                errors["is_active"] = refusal
            elif not errors:
                user_set_active(
                    user=user, is_active=is_active, acting_user=acting_user, actor_name=actor_name
                )
        if errors:
            raise ValidationError(errors)
        user.first_name = first_name
        user.last_name = last_name
        user.email = email
        user.full_clean()
        user.save(update_fields=["first_name", "last_name", "email"])
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


def user_set_active(
    *,
    user: User,
    is_active: bool,
    acting_user: User | None,
    receipt_number: int | None = None,
    actor_name: str | None = None,
) -> User:
    """Activate or deactivate an account, and record it in the account's
    history (`receipt_number`: the transfer or revert doing it).

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
        if locked.is_active != is_active:
            User.objects.filter(pk=user.pk).update(is_active=is_active)
            account_event_record(
                user=locked,
                kind=AccountEvent.Kind.REACTIVATED if is_active else AccountEvent.Kind.DEACTIVATED,
                acting_user=acting_user,
                receipt_number=receipt_number,
                actor_name=actor_name,
            )
    user.is_active = is_active
    return user


def user_delete_record(*, user: User, acting_user: User | None) -> None:
    """Record a deletion in the account's history (the row stays, its user
    link set to NULL). Call in the transaction that deletes the user."""
    account_event_record(user=user, kind=AccountEvent.Kind.DELETED, acting_user=acting_user)
