"""The access rule for clients, matters and cases, in one place.

A user may view or change a record when they hold the model permission
(managers, administrators), own it, or hold a guardian share on it (directly
or through a group). Ownership implies view and change.
"""

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from clients.record_types import SHARE_MODELS

ACTIONS = ("view", "change")


def permission_name(model: type[Model], action: str) -> str:
    """The model permission for `action` on `model`: "clients.view_case"."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _share_q(user, model: type[Model], action: str) -> Q:
    user_share_model, group_share_model = SHARE_MODELS[model]
    codename = f"{action}_{model._meta.model_name}"
    user_shares = user_share_model.objects.filter(
        content_object_id=OuterRef("pk"), user_id=user.pk, permission__codename=codename
    )
    group_shares = group_share_model.objects.filter(
        content_object_id=OuterRef("pk"),
        group__user=user.pk,
        permission__codename=codename,
    )
    return Q(Exists(user_shares)) | Q(Exists(group_shares))


def records_for_user(user, model: type[Model], action: str = "view") -> QuerySet:
    """Records of `model` that `user` may view (or change), as one queryset."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    queryset = model.objects.all()
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.has_perm(permission_name(model, action)):
        return queryset
    return queryset.filter(Q(owner_id=user.pk) | _share_q(user, model, action))


def user_can_access_record(user, record: Model, action: str = "view") -> bool:
    """The same rule as `records_for_user`, for one record already loaded."""
    model = type(record)
    if model not in SHARE_MODELS or action not in ACTIONS:
        return False
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm(permission_name(model, action)):
        return True
    if record.owner_id == user.pk:
        return True
    return records_for_user(user, model, action).filter(pk=record.pk).exists()
