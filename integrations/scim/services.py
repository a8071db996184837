"""Writes for the identity provider's door. Each goes through users.services,
so the rulebook holds and every change is an account event naming the token
(acting for the administrator who created it).

Deprovisioning never fails the identity provider and never deletes: a user
who still owns records has their sign-in suspended (and joins the leavers);
one who owns nothing is deactivated."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.models import ApiToken, ScimIdentity
from integrations.tokens.services import token_creator_may_act
from users import services as users_services
from users.models import User
from users.selectors import user_owns_anything

DEPROVISION_REASON = "Deprovisioned by the identity provider"


def _actor(token: ApiToken) -> dict:
    return {"acting_user": token.created_by, "actor_name": token.actor_name}


def _identity_save(*, user: User, external_id: str | None, deleted: bool | None = None) -> None:
    identity, _ = ScimIdentity.objects.get_or_create(user=user)
    fields = []
    if external_id is not None and identity.external_id != external_id:
        identity.external_id = external_id
        fields.append("external_id")
    if deleted is not None and (identity.deleted_at is not None) != deleted:
        identity.deleted_at = timezone.now() if deleted else None
        fields.append("deleted_at")
    if fields:
        identity.save(update_fields=fields)


def _details_save(
    *, user: User, username: str, first_name: str, last_name: str, email: str, password: str | None
) -> None:
    user.username = username
    user.first_name = first_name
    user.last_name = last_name
    user.email = email
    fields = ["username", "first_name", "last_name", "email"]
    if password:
        user.set_password(password)
        fields.append("password")
    user.full_clean(exclude=["password"] if not password else None, validate_unique=True)
    user.save(update_fields=fields)


def scim_user_create(
    *,
    token: ApiToken,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str | None,
    groups: Iterable[Group],
    active: bool,
    external_id: str,
) -> User:
    """A new hire from the identity provider, with their groups at once (so
    one whose group may own records is an eligible recipient on return).
    Without a password the account cannot sign in with one until it is set."""
    with transaction.atomic():
        user = users_services.user_create(
            username=username,
            password=password or None,
            first_name=first_name,
            last_name=last_name,
            email=email,
            groups=list(groups),
            **_actor(token),
        )
        _identity_save(user=user, external_id=external_id)
        if not active:
            users_services.user_set_active(user=user, is_active=False, **_actor(token))
    return user


def scim_user_return(
    *,
    token: ApiToken,
    user: User,
    first_name: str,
    last_name: str,
    email: str,
    password: str | None,
    groups: Iterable[Group],
    active: bool,
    external_id: str,
) -> User:
    """A user the identity provider deleted, created again under the same
    userName (a rehire, or an assignment undone): the same account comes back,
    with its history, its details and groups as sent."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        _identity_save(user=locked, external_id=external_id, deleted=False)
        users_services.user_access_update(user=locked, groups=list(groups), **_actor(token))
        return scim_user_update(
            token=token,
            user=locked,
            username=locked.username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            password=password,
            active=active,
        )


def scim_user_update(
    *,
    token: ApiToken,
    user: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str,
    password: str | None = None,
    external_id: str | None = None,
    active: bool | None = None,
) -> User:
    """Save the details the identity provider keeps, then deprovision or
    restore when `active` says so (None leaves the account as it is)."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        _details_save(
            user=locked,
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            password=password,
        )
        _identity_save(user=locked, external_id=external_id)
        if active is False:
            scim_user_deprovision(token=token, user=locked)
        elif active is True:
            scim_user_restore(token=token, user=locked)
    return locked


def user_is_signed_in_capable(user: User) -> bool:
    """SCIM's `active`: the account is active and its sign-in not suspended."""
    return token_creator_may_act(user)


def scim_user_deprovision(*, token: ApiToken, user: User, delete: bool = False) -> User:
    """`active=false` or DELETE: suspend sign-in when the user still owns
    records, deactivate otherwise; with `delete`, also hide the user from SCIM
    (GET answers 404; the account and its history stay). Doing it twice
    changes nothing the second time. Refused only as the rulebook refuses
    (one's own account, the last active superuser)."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if delete:
            _identity_save(user=locked, external_id=None, deleted=True)
        if not user_is_signed_in_capable(locked):
            return locked
        if not user_owns_anything(locked):
            try:
                with transaction.atomic():
                    return users_services.user_set_active(
                        user=locked, is_active=False, **_actor(token)
                    )
            except ValidationError as refusal:
                if refusal.code != "owns_records":  # a record arrived meanwhile: suspend
                    raise
        users_services.user_sign_in_suspend(
            user=locked,
            acting_user=token.created_by,
            reason=DEPROVISION_REASON,
            actor_name=token.actor_name,
        )
    return locked


def scim_user_restore(*, token: ApiToken, user: User) -> User:
    """`active=true`: reactivate a deactivated user and restore a suspended
    sign-in."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_active:
            users_services.user_set_active(user=locked, is_active=True, **_actor(token))
        if not user_is_signed_in_capable(locked):
            users_services.user_sign_in_restore(
                user=locked, acting_user=token.created_by, actor_name=token.actor_name
            )
    return locked


def scim_group_members_set(*, token: ApiToken, group: Group, member_ids: set[int]) -> None:
    """Make `member_ids` the members of `group`, each change through
    user_access_update: taking the permission to own from a user who still
    owns records is refused, with nothing changed."""
    with transaction.atomic():
        # Members the identity provider deleted are not in its list: leave them be.
        current = set(
            group.user_set.exclude(scim_identity__deleted_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        changed = User.objects.filter(pk__in=current ^ member_ids).order_by("pk")
        for user in changed:
            groups = set(user.groups.all())
            if user.pk in member_ids:
                groups.add(group)
            else:
                groups.discard(group)
            users_services.user_access_update(user=user, groups=groups, **_actor(token))
