from django.urls import path

from transfers.web import account_views, job_views, receipt_views, transfer_views

app_name = "transfers"

urlpatterns = [
    path("", receipt_views.TransferListView.as_view(), name="transfer_list"),
    path("users/<int:user_pk>/all/", transfer_views.TransferAllView.as_view(), name="transfer_all"),
    path(
        "users/<int:user_pk>/per-client/",
        transfer_views.TransferPerClientView.as_view(),
        name="transfer_per_client",
    ),
    path("users/<int:user_pk>/", account_views.UserPageView.as_view(), name="user_page"),
    path("<int:pk>/", receipt_views.TransferDetailView.as_view(), name="transfer_detail"),
    path("<int:pk>/records.csv", receipt_views.TransferCsvView.as_view(), name="transfer_csv"),
    path(
        "<int:pk>/revert/confirm/",
        receipt_views.TransferRevertConfirmView.as_view(),
        name="transfer_revert_confirm",
    ),
    path("<int:pk>/revert/", receipt_views.TransferRevertView.as_view(), name="transfer_revert"),
    path("jobs/<int:pk>/", job_views.TransferJobView.as_view(), name="transfer_job"),
    path(
        "jobs/<int:pk>/status/",
        job_views.TransferJobStatusView.as_view(),
        name="transfer_job_status",
    ),
]
