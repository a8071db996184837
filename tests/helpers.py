"""Helpers the tests import (fixtures stay in conftest.py)."""

from django.contrib.auth.models import Permission

from clients.record_types import RECORD_MODELS, RECORD_TYPES
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from users.models import User


def counts_of(row) -> tuple[int, int, int, int]:
    """(clients, matters, cases, shares) of a receipt or of one of its recipients."""
    counts = row.record_counts
    return (counts["client"], counts["matter"], counts["case"], counts.shares)


# --- Permissions --------------------------------------------------------------


def permission(codename: str, app_label: str = "clients") -> Permission:
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def record_permission(model, action: str) -> Permission:
    """The `action` ("view", "change", ...) permission on a record model."""
    meta = model._meta
    return permission(f"{action}_{meta.model_name}", app_label=meta.app_label)


# --- Snapshot -----------------------------------------------------------------

USER_SHARE_MODELS = tuple(record_type.user_share_model for record_type in RECORD_TYPES)
ALL_SHARE_MODELS = USER_SHARE_MODELS + tuple(
    record_type.group_share_model for record_type in RECORD_TYPES
)


def snapshot() -> dict:
    """Everything a transfer or a refused request may change, in comparable form:
    owners, shares, receipts and who is active."""
    state: dict = {}
    for model in RECORD_MODELS:
        state[model.__name__] = sorted(model.objects.values_list("pk", "owner_id", "updated_at"))
    for model in ALL_SHARE_MODELS:
        holder = "user_id" if "user" in {f.name for f in model._meta.fields} else "group_id"
        state[model.__name__] = sorted(
            model.objects.values_list("pk", "content_object_id", holder, "permission_id")
        )
    state["transfers"] = list(Transfer.objects.order_by("pk").values())
    state["recipients"] = list(TransferRecipient.objects.order_by("pk").values())
    state["records"] = list(TransferredRecord.objects.order_by("pk").values())
    state["users"] = sorted(User.objects.values_list("pk", "is_active"))
    return state


_default_access_rows: dict | None = None


def _access_models() -> tuple:
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType

    return (ContentType, Permission, Group, Group.permissions.through)


def default_groups_restore() -> None:
    """Put back the groups and the permissions the data migrations give them
    (users 0002, and the deadlines' in clients 0007): a transactional test
    flushes them with everything else.

    The first time, by the migrations' own functions; then, into an emptied
    database, the rows that gave, under the same ids (a few inserts instead of
    a query per permission, and cached content types stay right)."""
    import importlib

    from django.apps import apps

    global _default_access_rows
    models = _access_models()
    if _default_access_rows is not None and not any(m.objects.exists() for m in models):
        for model in models:
            model.objects.bulk_create(model(**row) for row in _default_access_rows[model])
        return
    importlib.import_module("users.migrations.0002_default_groups").create_groups(apps, None)
    importlib.import_module("clients.migrations.0007_deadlines").groups_permit(apps, None)
    _default_access_rows = {model: list(model.objects.values()) for model in models}
