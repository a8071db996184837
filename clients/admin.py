from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from clients.models import (
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Client,
    ClientGroupObjectPermission,
    ClientUserObjectPermission,
    Matter,
    MatterGroupObjectPermission,
    MatterUserObjectPermission,
)


class OwnedRecordAdmin(GuardedModelAdmin):
    autocomplete_fields = ["owner"]
    list_select_related = ["owner"]
    list_per_page = 50
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Client)
class ClientAdmin(OwnedRecordAdmin):
    list_display = ["number", "name", "kind", "status", "owner", "updated_at"]
    list_filter = ["status", "kind", ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "name", "email"]


@admin.register(Matter)
class MatterAdmin(OwnedRecordAdmin):
    list_display = ["number", "title", "client", "practice_area", "status", "owner"]
    list_filter = ["status", "practice_area", ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "title", "client__name", "client__number"]
    autocomplete_fields = ["owner", "client"]
    list_select_related = ["owner", "client"]


@admin.register(Case)
class CaseAdmin(OwnedRecordAdmin):
    list_display = ["number", "caption", "matter", "court", "status", "owner"]
    list_filter = ["status", ("owner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "caption", "matter__number", "client__name"]
    autocomplete_fields = ["owner", "matter"]
    list_select_related = ["owner", "matter"]
    exclude = ["client"]


class ShareAdmin(admin.ModelAdmin):
    list_display = ["content_object", "permission"]
    list_select_related = ["content_object", "permission"]
    autocomplete_fields = ["content_object"]
    show_facets = admin.ShowFacets.NEVER


@admin.register(ClientUserObjectPermission, MatterUserObjectPermission, CaseUserObjectPermission)
class UserShareAdmin(ShareAdmin):
    list_display = ["content_object", "user", "permission"]
    list_select_related = ["content_object", "user", "permission"]
    autocomplete_fields = ["content_object", "user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]


@admin.register(ClientGroupObjectPermission, MatterGroupObjectPermission, CaseGroupObjectPermission)
class GroupShareAdmin(ShareAdmin):
    list_display = ["content_object", "group", "permission"]
    list_select_related = ["content_object", "group", "permission"]
    search_fields = ["group__name"]
