from django.urls import path

from integrations.scim import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config, name="service_provider_config"),
    path("ResourceTypes", views.resource_types, name="resource_types"),
    path("ResourceTypes/<str:type_id>", views.resource_types, name="resource_type"),
    path("Schemas", views.schemas, name="schemas"),
    path("Schemas/<str:schema_id>", views.schemas, name="schema"),
    path(".search", views.search_everything, name="search"),
    path("Users", views.users, name="users"),
    path("Users/.search", views.users_search, name="users_search"),
    path("Users/<str:pk>", views.user_detail, name="user"),
    path("Groups", views.groups, name="groups"),
    path("Groups/<str:pk>", views.group_detail, name="group"),
    path("<path:rest>", views.not_found, name="not_found"),
]
