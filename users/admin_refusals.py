"""A refusal of the services while the admin saves, shown as a message.

The admin saves inside a transaction; a service that refuses (under its locks)
raises ChangeRefused there, the transaction rolls back, and the change form
comes back with the reason instead of a server error. The users' and the
records' admins share it."""

from django.contrib import messages
from django.http import HttpResponseRedirect


class ChangeRefused(Exception):
    """Refused under the lock while saving; the transaction is rolled back."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RefusalShownAdmin:
    """A ModelAdmin mixin: a ChangeRefused while saving reloads the form with its message."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChangeRefused as refused:  # the transaction was rolled back
            self.message_user(request, refused.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
