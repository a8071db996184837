"""Authentication backend that answers object permissions for owned records.

Django's ModelBackend answers nothing for objects and guardian answers only
for shares; this backend adds the owner and the holders of the model
permission, so `user.has_perm("clients.view_client", client)` follows the
rule in clients.access.
"""

from django.contrib.auth.backends import BaseBackend

from clients.access import access_without_shares


class RecordAccessBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None):
        if obj is None:
            return False
        app_label, _, codename = perm.partition(".")
        action, _, model_name = codename.partition("_")
        if app_label != obj._meta.app_label or model_name != obj._meta.model_name:
            return False
        return access_without_shares(user_obj, obj, action)
