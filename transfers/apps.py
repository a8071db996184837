from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transfers"
    verbose_name = "Transfers"

    def ready(self):
        from django.db.models import Exists, OuterRef, Q

        from clients.selectors import (
            moved_records_reader_register,
            ownership_history_reader_register,
        )
        from clients.signals import owner_changed
        from transfers.models import TransferJob
        from transfers.receipts.moved_records import moved_record_ids
        from transfers.receipts.owner_changes import owner_change_receipt
        from transfers.receipts.record_history import record_ownership_history
        from users.account_states import AccountState, account_state_register

        owner_changed.connect(owner_change_receipt, dispatch_uid="transfers.owner_change_receipt")
        ownership_history_reader_register(record_ownership_history)
        moved_records_reader_register(moved_record_ids)
        # A leaver whose transfer is scheduled: User Registration's state and the Leavers.
        scheduled = TransferJob.objects.filter(
            from_user_id=OuterRef("pk"), status=TransferJob.Status.SCHEDULED
        )
        account_state_register(
            AccountState(
                value="scheduled",
                label="Transfer scheduled",
                condition=Q(Exists(scheduled)),
                precedence=10,
                leaver=True,
            )
        )
