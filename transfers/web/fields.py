"""The fields the transfer forms share: users chosen from a select or typed
into a text input with the shared list of eligible users, and the key that
makes a second submission of the same form land on the same receipt."""

import re
import uuid

from django import forms

from clients.record_types import RecordCounts
from users.models import User


def workload_label(user: User) -> str:
    """ "Dana Reyes — 12 clients, 40 matters, 103 cases, 7 deadlines" (needs with_workload)."""
    return f"{user.full_name} — " + ", ".join(RecordCounts.annotated(user).phrases(shares=False))


def workload_summary(user: User) -> str:
    """ "12 clients, 103 cases": the short workload the list of users shows (needs
    with_workload)."""
    workload = RecordCounts.annotated(user)
    return ", ".join(t.counted(count) for t, count in workload.by_type() if t.name in SHORT)


# The record types the short workload names.
SHORT = ("client", "case")


def user_choices(users) -> list[tuple[str, str]]:
    return [(str(user.pk), workload_label(user)) for user in users]


class UserIdField(forms.ChoiceField):
    """A select of users that accepts any user id and returns it as an int.

    The listed users are the eligible ones when the form was shown; a user who
    became inactive since, or an id that was never listed, goes to the
    service, which refuses it with its own code and message."""

    default_error_messages = {"invalid_choice": "Select a valid user."}

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if not str(value).isdigit():
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return int(value)

    def valid_value(self, value):
        return True


class RequestKeyField(forms.UUIDField):
    """The key a form carries so that submitting it twice lands on one receipt."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        key = super().clean(value)
        return str(key) if key else None


def new_request_key() -> str:
    return str(uuid.uuid4())


# The id of the one <datalist> of eligible users every user input shares.
USERS_DATALIST_ID = "eligible-users"
REFERENCE_USERNAME = re.compile(r"\(([^()\s]+)\)\s*$")


def user_reference(user: User) -> str:
    """How a user is written in the user inputs: "Dana Reyes (dana.reyes)"."""
    return f"{user.full_name} ({user.username})"


def parse_user_reference(text: str) -> int | str:
    """A user input's value: a user id ("12"), or a username, alone or in
    parentheses after the name ("Dana Reyes (dana.reyes)")."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = REFERENCE_USERNAME.search(text)
    return match.group(1) if match else text


def users_named(text: str, users: list[User]) -> list[User]:
    """The users among `users` whom `text` names: by username, e-mail or full
    name, whatever the case ("Marcus Hale", "marcus.hale", "MHale@firm.example")."""
    wanted = " ".join(text.split()).casefold()
    if not wanted:
        return []
    return [
        user
        for user in users
        if wanted
        in {
            user.username.casefold(),
            user.email.casefold(),
            " ".join(user.full_name.split()).casefold(),
        }
    ]


class UserReferenceField(forms.CharField):
    """A text input offering the eligible users (one shared <datalist>)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 300)
        attrs = {"list": USERS_DATALIST_ID, "autocomplete": "off", "data-user-input": ""}
        super().__init__(widget=forms.TextInput(attrs=attrs), **kwargs)
