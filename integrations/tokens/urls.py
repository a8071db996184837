from django.urls import path

from integrations.tokens import views

app_name = "integrations"

urlpatterns = [
    path("", views.ApiTokenListView.as_view(), name="apitoken_list"),
    path("<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="apitoken_revoke"),
]
