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
    # Never is_superuser: the permission to own is granted explicitly, so a
    # superuser in no owning group (a system account) is offered nothing.
    return Q(Exists(group_grant)) | Q(Exists(direct_grant))


def allowed_owners(users: QuerySet[User]) -> QuerySet[User]:
    """The users among `users` allowed to own records, active or not: the one
    database form of the rule (holders of users.own_records through a group
    or a direct grant; superuser status alone does not count)."""
    return users.filter(_holds_permission_q(OWN_RECORDS_PERMISSION))


def may_act(users: QuerySet[User]) -> QuerySet[User]:
    """The users among `users` who may act: active, sign-in not suspended."""
    return users.filter(is_active=True, sign_in_suspended_at__isnull=True)


def user_may_act(user: User) -> bool:
    """Whether `user` may sign in or act through an API token: active and not
    suspended. Read from the object, which the caller loads fresh per request."""
    return user.is_active and user.sign_in_suspended_at is None


def eligible_owners() -> QuerySet[User]:
    """Users who may receive clients, matters and cases: active, not
    suspended, and holding the permission to own through a group or a grant."""
    return allowed_owners(may_act(User.objects.all()))


def user_is_eligible_owner(user: User) -> bool:
    """The same rule for one user already loaded. Django's has_perm answers
    True for any active superuser, so a superuser's grants are read from the
    database; anyone else's come from the permission cache."""
    if not user_may_act(user):
        return False
    if user.is_superuser:
        return user_may_own_records(user)
    return user.has_perm(OWN_RECORDS_PERMISSION)


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
    user owns, as `<type>_count` for each registered type, counted in the database
    (clients.record_types.RecordCounts.annotated reads them)."""
    return users.annotate(**{count: _owned_count(model) for count, model in owned_models().items()})


def workload_summary(user: User) -> str:
    """What a user annotated by `with_workload` owns, in words:
    "4 clients, 12 matters, 40 cases, 2 deadlines" (only what is not zero)."""
    parts = []
    for count, model in owned_models().items():
        number = getattr(user, count, 0)
        if number:
            noun = model._meta.verbose_name if number == 1 else model._meta.verbose_name_plural
            parts.append(f"{number:,} {noun}")
    return ", ".join(parts) or "nothing"


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


def access_would_allow_owning(*, groups, permissions) -> bool:
    """Whether a user with these groups and direct permissions would hold the
    permission to own records (for a form, before saving)."""
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
        User.objects.filter(groups=group).exclude(Exists(other_grant)).exclude(Exists(direct_grant))
    )
    return list(owning_anything(losing).order_by("first_name", "last_name", "pk"))
