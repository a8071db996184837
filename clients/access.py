"""The access rule for owned records, in one place.

A user may view or change a record when they hold the model permission
(managers, administrators), own it, or hold a guardian share on it (directly
or through a group). Ownership implies view and change. An inactive or
signed-out user may do nothing.

Everything that decides access reads this module: the grids and record pages
(records_for_user), the authentication backend (user.has_perm with a record)
and the tests.
"""

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from clients.record_types import SHARE_MODELS

ACTIONS = ("view", "change")
# Up to this many shared records are inlined as ids; beyond it the rule's
# EXISTS form is used as it is.
SHARE_ID_LIMIT = 1000


def permission_name(model: type[Model], action: str) -> str:
    """The model permission for `action` on `model`: "clients.view_case"."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _may_act(user) -> bool:
    return user.is_authenticated and user.is_active


def _shares(user, model: type[Model], action: str):
    """The user's and their groups' share rows of `action` on records of `model`."""
    user_share_model, group_share_model = SHARE_MODELS[model]
    codename = f"{action}_{model._meta.model_name}"
    return (
        user_share_model.objects.filter(user_id=user.pk, permission__codename=codename),
        group_share_model.objects.filter(group__user=user.pk, permission__codename=codename),
    )


def _shared_q(user, model: type[Model], action: str) -> Q:
    """Records shared with the user, in a form PostgreSQL answers from indexes.

    "owner is me OR EXISTS (a share)" with an OR around correlated EXISTS makes
    the planner scan every row (a second per page over 2.5 million cases). The
    user's shared ids are few, so they are read first (one query) and the rule
    becomes "owner_id = me OR id IN (those ids)": a BitmapOr of two index
    scans. Same rule, same rows; above SHARE_ID_LIMIT the EXISTS form."""
    user_shares, group_shares = _shares(user, model, action)
    shared = (
        user_shares.values_list("content_object_id", flat=True)
        .order_by()
        .union(group_shares.values_list("content_object_id", flat=True).order_by())
    )
    shared_ids = list(shared[: SHARE_ID_LIMIT + 1])
    if len(shared_ids) <= SHARE_ID_LIMIT:
        return Q(pk__in=shared_ids)
    return Q(Exists(user_shares.filter(content_object_id=OuterRef("pk")))) | Q(
        Exists(group_shares.filter(content_object_id=OuterRef("pk")))
    )


def records_for_user(user, model: type[Model], action: str = "view") -> QuerySet:
    """Records of `model` that `user` may view (or change), as one queryset."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    queryset = model.objects.all()
    if not _may_act(user):
        return queryset.none()
    if user.has_perm(permission_name(model, action)):
        return queryset
    return queryset.filter(Q(owner_id=user.pk) | _shared_q(user, model, action))


def access_without_shares(user, record: Model, action: str) -> bool:
    """The rule for one loaded record, shares aside: the model permission or
    ownership (django-guardian's backend answers for the shares)."""
    if type(record) not in SHARE_MODELS or action not in ACTIONS or not _may_act(user):
        return False
    return record.owner_id == user.pk or user.has_perm(permission_name(type(record), action))


def user_can_access_record(user, record: Model, action: str = "view") -> bool:
    """The whole rule for one loaded record."""
    if access_without_shares(user, record, action):
        return True
    if type(record) not in SHARE_MODELS or action not in ACTIONS or not _may_act(user):
        return False
    user_shares, group_shares = _shares(user, type(record), action)
    return (
        user_shares.filter(content_object_id=record.pk).exists()
        or group_shares.filter(content_object_id=record.pk).exists()
    )
