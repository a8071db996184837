"""/api/v1/: the API's URLs take a token, not a session (no sign-in
redirect); its OpenAPI schema and browsable documentation (Swagger UI served
from the app's own static files) are for signed-in users."""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern

from integrations.api.views import api

DOCUMENTATION = {"openapi-json", "openapi-view", "api-root"}


def _token_doors(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and pattern.name not in DOCUMENTATION:
            pattern.callback = login_not_required(pattern.callback)
        yield pattern


api_patterns, app_name, namespace = api.urls
urlpatterns = list(_token_doors(api_patterns))
