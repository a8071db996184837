from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transfers"
    verbose_name = "Transfers"

    def ready(self):
        from clients.signals import owner_changed
        from transfers.owner_changes import owner_change_receipt

        owner_changed.connect(owner_change_receipt, dispatch_uid="transfers.owner_change_receipt")
