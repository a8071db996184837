from django.apps import AppConfig


class ClientsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clients"
    verbose_name = "Clients, matters and cases"

    def ready(self):
        from clients.record_types import RECORD_TYPES
        from users.ownership import owned_models_register

        owned_models_register(
            {record_type.count_field: record_type.model for record_type in RECORD_TYPES}
        )
