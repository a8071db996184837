from django.contrib.auth.mixins import PermissionRequiredMixin
from django.views.generic import TemplateView

from users.models import ACCESS_SETTINGS_PERMISSION


class SettingsView(PermissionRequiredMixin, TemplateView):
    permission_required = ACCESS_SETTINGS_PERMISSION
    raise_exception = True
    template_name = "users/settings.html"
