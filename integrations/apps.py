from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """The doors for other systems: API tokens, SCIM 2.0 for the identity
    provider, and the JSON API. Above transfers in the layers: it calls the
    services of users and transfers, and nothing below imports it."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
    verbose_name = "Integrations"
