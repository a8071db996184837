from users.models import ACCESS_SETTINGS_PERMISSION


def navigation(request):
    user = getattr(request, "user", None)
    can_access_settings = bool(
        user is not None and user.is_authenticated and user.has_perm(ACCESS_SETTINGS_PERMISSION)
    )
    return {"can_access_settings": can_access_settings}
