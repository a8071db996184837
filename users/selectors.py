"""Reads about users: who may own records, and how much each one owns."""

from django.contrib.auth.models import Permission
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from users.models import User


def own_records_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="users", codename="own_records")


def _holds_permission_q(codename: str, app_label: str) -> Q:
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


def users_holding_permission(perm: str) -> QuerySet[User]:
    """Active users that hold `perm` ("app_label.codename"), as one query."""
    app_label, codename = perm.split(".", 1)
    return User.objects.filter(_holds_permission_q(codename, app_label), is_active=True)


def eligible_owners() -> QuerySet[User]:
    """Active users allowed to own clients, matters and cases."""
    return users_holding_permission("users.own_records")


def user_is_eligible_owner(user: User) -> bool:
    return user.is_active and user.has_perm("users.own_records")


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
    """Annotate client_count, matter_count and case_count, counted in the database."""
    from clients.models import Case, Client, Matter

    return users.annotate(
        client_count=_owned_count(Client),
        matter_count=_owned_count(Matter),
        case_count=_owned_count(Case),
    )


def user_owns_anything(user: User) -> bool:
    from clients.models import Case, Client, Matter

    return any(model.objects.filter(owner=user).exists() for model in (Client, Matter, Case))
