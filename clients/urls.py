from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("clients/", views.ClientListView.as_view(), name="client_list"),
    path("clients/<int:pk>/", views.ClientDetailView.as_view(), name="client_detail"),
    path("matters/", views.MatterListView.as_view(), name="matter_list"),
    path("matters/<int:pk>/", views.MatterDetailView.as_view(), name="matter_detail"),
    path("cases/", views.CaseListView.as_view(), name="case_list"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case_detail"),
    path("deadlines/", views.DeadlineListView.as_view(), name="deadline_list"),
    path("deadlines/<int:pk>/", views.DeadlineDetailView.as_view(), name="deadline_detail"),
]
