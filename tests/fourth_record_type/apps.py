from django.apps import AppConfig


class FourthRecordTypeConfig(AppConfig):
    """A throwaway fourth owned record type, installed only by this folder's settings."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "tests.fourth_record_type"
    label = "fourth_record_type"
