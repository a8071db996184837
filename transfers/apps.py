from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transfers"
    verbose_name = "Transfers"

    def ready(self):
        from clients.selectors import (
            moved_records_reader_register,
            ownership_history_reader_register,
        )
        from clients.signals import owner_changed
        from transfers.background.state import users_with_scheduled_transfer
        from transfers.receipts.moved_records import moved_record_ids
        from transfers.receipts.owner_changes import owner_change_receipt
        from transfers.receipts.record_history import record_ownership_history
        from users.transfer_schedule import scheduled_transfer_reader_register

        owner_changed.connect(owner_change_receipt, dispatch_uid="transfers.owner_change_receipt")
        ownership_history_reader_register(record_ownership_history)
        moved_records_reader_register(moved_record_ids)
        scheduled_transfer_reader_register(users_with_scheduled_transfer)
