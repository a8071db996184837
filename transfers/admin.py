from django.contrib import admin

from transfers.models import Transfer, TransferJob, TransferRecipient, TransferredRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Receipts are written by the transfer service only."""

    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TransferRecipientInline(admin.TabularInline):
    model = TransferRecipient
    fields = ["to_user_name", "moved"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="Received")
    def moved(self, recipient: TransferRecipient) -> str:
        return ", ".join(recipient.record_counts.phrases())

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "created_at",
        "mode",
        "actor_name",
        "from_user_name",
        "deactivated_from_user",
        "moved",
    ]
    list_filter = ["mode", "deactivated_from_user"]
    search_fields = ["actor_name", "from_user_name", "recipients__to_user_name"]
    date_hierarchy = "created_at"
    inlines = [TransferRecipientInline]

    @admin.display(description="Moved")
    def moved(self, transfer: Transfer) -> str:
        return ", ".join(transfer.record_counts.phrases())


@admin.register(TransferredRecord)
class TransferredRecordAdmin(ReadOnlyAdmin):
    list_display = ["transfer", "record_type", "record_id", "from_user", "to_user"]
    list_filter = ["record_type"]
    list_select_related = ["transfer", "from_user", "to_user"]
    search_fields = ["=transfer__pk", "=record_id"]


@admin.register(TransferJob)
class TransferJobAdmin(ReadOnlyAdmin):
    """Background transfers: written by transfers.jobs only."""

    list_display = [
        "pk",
        "created_at",
        "status",
        "mode",
        "actor_name",
        "from_user_name",
        "record_count",
        "transfer",
    ]
    list_filter = ["status", "mode"]
    search_fields = ["actor_name", "from_user_name", "=request_key"]
    date_hierarchy = "created_at"
