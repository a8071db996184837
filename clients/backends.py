"""Authentication backend that answers object permissions for owned records.

Django's ModelBackend answers nothing for objects and guardian answers only
for shares; this backend adds the owner and the holders of the model
permission, so `user.has_perm("clients.view_client", client)` follows the
rule in clients.access.
"""

from django.contrib.auth.backends import BaseBackend

from clients.access import ACTIONS
from clients.record_types import SHARE_MODELS


class RecordAccessBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None):
        if obj is None or type(obj) not in SHARE_MODELS:
            return False
        if not user_obj.is_active:
            return False
        app_label, _, codename = perm.partition(".")
        action, _, model_name = codename.partition("_")
        if app_label != obj._meta.app_label or model_name != obj._meta.model_name:
            return False
        if action not in ACTIONS:
            return False
        if obj.owner_id == user_obj.pk:
            return True
        return user_obj.has_perm(perm)
