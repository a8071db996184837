from django.urls import path

from users import views

app_name = "users"

urlpatterns = [
    path("", views.SettingsView.as_view(), name="settings"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/add/", views.UserCreateView.as_view(), name="user_create"),
    path("users/<int:pk>/", views.UserUpdateView.as_view(), name="user_update"),
    path(
        "users/<int:pk>/suspend-sign-in/",
        views.UserSignInSuspendView.as_view(),
        name="user_sign_in_suspend",
    ),
    path(
        "users/<int:pk>/restore-sign-in/",
        views.UserSignInRestoreView.as_view(),
        name="user_sign_in_restore",
    ),
]
