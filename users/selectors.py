"""Reads about users: who may own records, and how much each one owns."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from users.models import OWN_RECORDS_PERMISSION, User
from users.ownership import owned_models


def own_records_permission() -> Permission:
    app_label, codename = OWN_RECORDS_PERMISSION.split(".", 1)
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _holds_permission_q(perm: str) -> Q:
    app_label, codename = perm.split(".", 1)
    group_grant = User.groups.through.objects.filter(
        user_id=OuterRef("pk"),
        group__permissions__codename=codename,
        group__permissions__content_type__app_label=app_label,
    )
    direct_grant = User.user_permissions.through.objects.filter(
        user_id=OuterRef("pk"),
        permission__codename=codename,
        permission__content_type__app_label=app_label,
    )
    return Q(is_superuser=True) | Q(Exists(group_grant)) | Q(Exists(direct_grant))


def allowed_owners(users: QuerySet[User]) -> QuerySet[User]:
    """The users among `users` allowed to own records, active or not: the one
    database form of the rule (superusers, and holders of users.own_records
    directly or through a group)."""
    return users.filter(_holds_permission_q(OWN_RECORDS_PERMISSION))


def eligible_owners() -> QuerySet[User]:
    """Active users allowed to own clients, matters and cases."""
    return allowed_owners(User.objects.filter(is_active=True))


def user_is_eligible_owner(user: User) -> bool:
    """The same rule for one user already loaded (from its permission cache)."""
    return user.is_active and user.has_perm(OWN_RECORDS_PERMISSION)


def _owned_count(model, owner_ref="pk"):
    counted = (
        model.objects.filter(owner_id=OuterRef(owner_ref))
        .order_by()
        .values("owner_id")
        # count(*), not count(id): the owner index alone answers it (index-only scan).
        .annotate(total=Count("*"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_workload(users: QuerySet[User]) -> QuerySet[User]:
    """Annotate how many records of each owned model (users.ownership) each
    user owns: client_count, matter_count and case_count, counted in the database."""
    return users.annotate(**{count: _owned_count(model) for count, model in owned_models().items()})


def owning_anything(users: QuerySet[User]) -> QuerySet[User]:
    """The users among `users` who own at least one record."""
    owns = Q(pk__in=[])
    for count in owned_models():
        owns |= Q(**{f"{count}__gt": 0})
    return with_workload(users).filter(owns)


def user_owns_anything(user: User) -> bool:
    return any(model.objects.filter(owner=user).exists() for model in owned_models().values())


def user_may_own_records(user: User) -> bool:
    """Whether `user` holds the permission to own records, active or not,
    read from the database (not from the user object's permission cache)."""
    return allowed_owners(User.objects.filter(pk=user.pk)).exists()


def access_would_allow_owning(*, groups, permissions, is_superuser: bool) -> bool:
    """Whether a user with these groups, direct permissions and superuser flag
    would hold the permission to own records (for a form, before saving)."""
    if is_superuser:
        return True
    own = own_records_permission()
    if any(permission.pk == own.pk for permission in permissions):
        return True
    return Group.objects.filter(pk__in=[group.pk for group in groups], permissions=own).exists()


def group_change_loses_owners(*, group, permissions) -> list[User]:
    """Members of `group` who own records and would no longer be allowed to
    own them if the group had only `permissions` (none: the group deleted)."""
    own = own_records_permission()
    if any(permission.pk == own.pk for permission in permissions):
        return []
    if not group.permissions.filter(pk=own.pk).exists():
        return []
    other_grant = User.groups.through.objects.filter(
        user_id=OuterRef("pk"), group__permissions=own
    ).exclude(group_id=group.pk)
    direct_grant = User.user_permissions.through.objects.filter(
        user_id=OuterRef("pk"), permission=own
    )
    losing = (
        User.objects.filter(groups=group, is_superuser=False)
        .exclude(Exists(other_grant))
        .exclude(Exists(direct_grant))
    )
    return list(owning_anything(losing).order_by("first_name", "last_name", "pk"))
