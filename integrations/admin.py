"""API tokens in the admin: listed and revocable, never created or edited
there (a secret is shown once, on Settings › API tokens or by
`manage.py api_token_create`)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from integrations.models import ApiToken
from integrations.tokens.services import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "scope",
        "prefix",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "created_by__username"]
    readonly_fields = [f.name for f in ApiToken._meta.fields]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected API tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        for token in queryset:
            try:
                api_token_revoke(token=token, acting_user=request.user)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
            else:
                self.message_user(request, f"The API token “{token.name}” was revoked.")
