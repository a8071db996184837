from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("clients.urls")),
    path("settings/", include("users.urls")),
    path("settings/transfers/", include("transfers.urls")),
    path("settings/api-tokens/", include("integrations.tokens.urls")),
    path("scim/v2/", include("integrations.scim.urls")),
    path("api/v1/", include(("integrations.api.urls", "api"), namespace="api")),
    path("admin/", admin.site.urls),
]
