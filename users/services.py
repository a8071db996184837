"""Writes about users. `user_set_active` is the only code that changes
is_active, `user_sign_in_suspend` and `user_sign_in_restore` the only ones
that change a suspension, `user_access_update` the only one that changes a
user's groups, permissions and the staff and superuser flags,
`group_permissions_update` and `group_delete` the only ones that change what a
group gives its members; each writes the accounts' history (AccountEvent) in
the same transaction."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from users.models import (
    ACCESS_SETTINGS_PERMISSION,
    OWN_RECORDS_PERMISSION,
    TRANSFER_RECORDS_PERMISSION,
    AccountEvent,
    User,
)
from users.selectors import (
    group_change_loses_owners,
    may_act,
    user_may_own_records,
    user_owns_anything,
)

DEACTIVATION_ERRORS = {
    "deactivate_self": "You cannot deactivate your own account.",
    "last_superuser": "{name} is the last active superuser and cannot be deactivated.",
    "owns_records": (
        "{name} still owns clients, matters or cases. Transfer them to another user first."
    ),
}
# Deleting a user ends the account like a deactivation, under the same rules.
DELETION_ERRORS = {
    "deactivate_self": "You cannot delete your own account.",
    "last_superuser": "{name} is the last active superuser and cannot be deleted.",
}
ACCESS_ERRORS = {
    "owner_permission_removed": (
        "{name} still owns clients, matters or cases, so they must stay allowed to own them "
        "(in a group that may own records). Transfer them to another user first."
    ),
}
SUSPENSION_ERRORS = {
    "suspend_self": "You cannot suspend your own sign-in.",
    "suspend_last_superuser": (
        "{name} is the last active superuser and their sign-in cannot be suspended."
    ),
    "suspend_inactive": "{name} is inactive and cannot sign in already.",
    "already_suspended": "{name}'s sign-in is already suspended.",
    "not_suspended": "{name}'s sign-in is not suspended: there is nothing to restore.",
}
SUSPENSION_REASON_MAX_LENGTH = User._meta.get_field("sign_in_suspension_reason").max_length
GROUP_ERRORS = {
    "group_owner_permission_removed": (
        "{names} still own clients, matters or cases and would lose the permission to own "
        "them. Transfer their records to another user first."
    ),
}
# Refusals that a transfer to another user resolves: shown with a link to User Transfer All.
TRANSFER_FIRST_CODES = frozenset({"owns_records", "owner_permission_removed"})
# Given or taken through a group, these are written in each member's history: owning
# records, transferring them, and the settings pages (users, receipts and history).
SIGNIFICANT_PERMISSIONS = (
    OWN_RECORDS_PERMISSION,
    TRANSFER_RECORDS_PERMISSION,
    ACCESS_SETTINGS_PERMISSION,
    "users.add_user",
    "users.change_user",
    "transfers.view_transfer",
)


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


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


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
                detail=_sentence("; ".join(changes)),
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
    if user.is_superuser and not _another_superuser_may_act(user):
        return ValidationError(
            DEACTIVATION_ERRORS["last_superuser"].format(name=name), code="last_superuser"
        )
    if user_owns_anything(user):
        return ValidationError(
            DEACTIVATION_ERRORS["owns_records"].format(name=name), code="owns_records"
        )
    return None


def _another_superuser_may_act(user: User) -> bool:
    """Whether a superuser other than `user` is active and may sign in."""
    return may_act(User.objects.filter(is_superuser=True)).exclude(pk=user.pk).exists()


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


def suspension_refusal(*, user: User, acting_user: User | None) -> ValidationError | None:
    """Why `user`'s sign-in may not be suspended now, or None when it may.
    Owning records is no reason: suspending is how a leaver who still owns
    records loses access at once."""
    name = user.full_name

    def refused(code: str) -> ValidationError:
        return ValidationError(SUSPENSION_ERRORS[code].format(name=name), code=code)

    if acting_user is not None and acting_user.pk == user.pk:
        return refused("suspend_self")
    if not user.is_active:
        return refused("suspend_inactive")
    if user.sign_in_suspended_at is not None:
        return refused("already_suspended")
    if user.is_superuser and not _another_superuser_may_act(user):
        return refused("suspend_last_superuser")
    return None


def user_sign_in_suspend(
    *,
    user: User,
    acting_user: User | None,
    reason: str = "",
    actor_name: str | None = None,
) -> User:
    """Suspend `user`'s sign-in at once, whatever they own, and record it (the
    reason in the event's detail). Their open sessions end on their next
    request, sign-in and password reset are refused as for an inactive
    account, their API tokens stop working (users.selectors.user_may_act),
    and they receive no records (users.selectors.eligible_owners).

    Refused (ValidationError with a code of SUSPENSION_ERRORS, nothing
    changed) for one's own account, an inactive account, one already
    suspended and the last active superuser. `actor_name` names an actor that
    is not a user, when `acting_user` is None.
    """
    reason = reason.strip()[:SUSPENSION_REASON_MAX_LENGTH]
    with transaction.atomic():
        # The locks of user_set_active: a transfer to this user waits for the
        # suspension and then sees it, and two superusers cannot suspend (or
        # deactivate) each other at once.
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_superuser:
            _superuser_deactivations_serialize()
        refusal = suspension_refusal(user=locked, acting_user=acting_user)
        if refusal is not None:
            raise refusal
        suspended_at = timezone.now()
        User.objects.filter(pk=user.pk).update(
            sign_in_suspended_at=suspended_at, sign_in_suspension_reason=reason
        )
        account_event_record(
            user=locked,
            kind=AccountEvent.Kind.SIGN_IN_SUSPENDED,
            acting_user=acting_user,
            detail=f"Reason: {reason}" if reason else "",
            actor_name=actor_name,
        )
    user.sign_in_suspended_at = suspended_at
    user.sign_in_suspension_reason = reason
    return user


def user_sign_in_restore(
    *, user: User, acting_user: User | None, actor_name: str | None = None
) -> User:
    """Undo a suspension and record it. Refused (code not_suspended, nothing
    changed) when the sign-in is not suspended. An inactive account stays
    inactive: restoring only lifts the suspension."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.sign_in_suspended_at is None:
            raise ValidationError(
                SUSPENSION_ERRORS["not_suspended"].format(name=locked.full_name),
                code="not_suspended",
            )
        User.objects.filter(pk=user.pk).update(
            sign_in_suspended_at=None, sign_in_suspension_reason=""
        )
        account_event_record(
            user=locked,
            kind=AccountEvent.Kind.SIGN_IN_RESTORED,
            acting_user=acting_user,
            actor_name=actor_name,
        )
    user.sign_in_suspended_at = None
    user.sign_in_suspension_reason = ""
    return user


def user_delete_record(*, user: User, acting_user: User | None) -> None:
    """Record a deletion in the account's history (the row stays, its user
    link set to NULL). Call in the transaction that deletes the user."""
    account_event_record(user=user, kind=AccountEvent.Kind.DELETED, acting_user=acting_user)


def _significant(permissions: Iterable[Permission]) -> set[str]:
    names = {
        f"{permission.content_type.app_label}.{permission.codename}" for permission in permissions
    }
    return names.intersection(SIGNIFICANT_PERMISSIONS)


def _group_locked_with_members(group: Group) -> tuple[Group, list[User]]:
    """The group's row and its members' rows, locked. The group is locked
    FOR NO KEY UPDATE, which a user's groups being changed (a KEY SHARE on the
    group) does not wait for: the members are locked after, as
    user_access_update locks its user first."""
    locked = Group.objects.select_for_update(no_key=True).get(pk=group.pk)
    members = list(User.objects.select_for_update().filter(groups=locked).order_by("pk"))
    return locked, members


def _group_refusal(group: Group, permissions: Iterable[Permission]) -> ValidationError | None:
    losing = group_change_loses_owners(group=group, permissions=permissions)
    if not losing:
        return None
    return ValidationError(
        GROUP_ERRORS["group_owner_permission_removed"].format(
            names=", ".join(user.full_name for user in losing)
        ),
        code="owner_permission_removed",
    )


def group_permissions_update(
    *, group: Group, permissions: Iterable[Permission], acting_user: User | None
) -> Group:
    """Set a group's permissions. When that gives or takes a significant
    permission (SIGNIFICANT_PERMISSIONS), every member gets an account event
    naming the group, what changed and who changed it.

    Refused (ValidationError, code owner_permission_removed, nothing changed)
    when a member who owns records would lose the permission to own them."""
    permissions = list(permissions)
    with transaction.atomic():
        locked, members = _group_locked_with_members(group)
        if refusal := _group_refusal(locked, permissions):
            raise refusal
        before = _significant(locked.permissions.select_related("content_type"))
        locked.permissions.set(permissions)
        after = _significant(locked.permissions.select_related("content_type"))
        changes = [f"{name} given" for name in sorted(after - before)]
        changes += [f"{name} removed" for name in sorted(before - after)]
        if changes:
            detail = f'Through group "{locked.name}": ' + "; ".join(changes)
            for member in members:
                account_event_record(
                    user=member,
                    kind=AccountEvent.Kind.ACCESS_CHANGED,
                    acting_user=acting_user,
                    detail=detail,
                )
    return locked


def group_delete(*, group: Group, acting_user: User | None) -> None:
    """Delete a group. Each member gets an account event naming the group, the
    groups before and after, the permissions it took away and who deleted it.

    Refused (ValidationError, code owner_permission_removed, nothing changed)
    when a member who owns records would lose the permission to own them."""
    with transaction.atomic():
        locked, members = _group_locked_with_members(group)
        if refusal := _group_refusal(locked, permissions=()):
            raise refusal
        taken = sorted(_significant(locked.permissions.select_related("content_type")))
        for member in members:
            groups = tuple(member.groups.order_by("name").values_list("name", flat=True))
            remaining = tuple(name for name in groups if name != locked.name)
            detail = (
                f'Group "{locked.name}" deleted. Groups: {_listed(groups)} → {_listed(remaining)}'
            )
            if taken:
                detail += f"; removed with it: {', '.join(taken)}"
            account_event_record(
                user=member,
                kind=AccountEvent.Kind.GROUPS_CHANGED,
                acting_user=acting_user,
                detail=detail,
            )
        locked.delete()
