from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transfers"
    verbose_name = "Transfers"

    def ready(self):
        from clients.selectors import ownership_history_reader_register
        from clients.signals import owner_changed
        from transfers.receipts.owner_changes import owner_change_receipt
        from transfers.receipts.record_history import record_ownership_history

        owner_changed.connect(owner_change_receipt, dispatch_uid="transfers.owner_change_receipt")
        ownership_history_reader_register(record_ownership_history)
