from django.urls import path

from transfers import account_views, views

app_name = "transfers"

urlpatterns = [
    path("", views.TransferListView.as_view(), name="transfer_list"),
    path("users/<int:user_pk>/all/", views.TransferAllView.as_view(), name="transfer_all"),
    path(
        "users/<int:user_pk>/per-client/",
        views.TransferPerClientView.as_view(),
        name="transfer_per_client",
    ),
    path("users/<int:user_pk>/", account_views.UserPageView.as_view(), name="user_page"),
    path("<int:pk>/", views.TransferDetailView.as_view(), name="transfer_detail"),
    path("<int:pk>/records.csv", views.TransferCsvView.as_view(), name="transfer_csv"),
    path(
        "<int:pk>/revert/confirm/",
        views.TransferRevertConfirmView.as_view(),
        name="transfer_revert_confirm",
    ),
    path("<int:pk>/revert/", views.TransferRevertView.as_view(), name="transfer_revert"),
    path("jobs/<int:pk>/", views.TransferJobView.as_view(), name="transfer_job"),
    path(
        "jobs/<int:pk>/cancel/", views.TransferJobCancelView.as_view(), name="transfer_job_cancel"
    ),
    path(
        "jobs/<int:pk>/status/", views.TransferJobStatusView.as_view(), name="transfer_job_status"
    ),
]
