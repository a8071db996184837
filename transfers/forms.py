"""Forms of the transfer screens. They check the shape of the input only; who
may receive what is decided by transfers.services, whose refusals the views
add to these forms."""

import re
import uuid

from django import forms
from django.template.defaultfilters import pluralize
from django.utils.html import format_html

from users.models import User


def workload_label(user: User) -> str:
    """ "Dana Reyes — 12 clients, 40 matters, 103 cases" (needs with_workload)."""
    return (
        f"{user.full_name} — {user.client_count} client{pluralize(user.client_count)}, "
        f"{user.matter_count} matter{pluralize(user.matter_count)}, "
        f"{user.case_count} case{pluralize(user.case_count)}"
    )


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


class TransferAllForm(forms.Form):
    error_messages = {"new_user_required": "Choose the user who receives everything."}

    new_user = UserIdField(label="New user")
    deactivate_old_user = forms.BooleanField(
        label="Deactivate the old user",
        required=False,
        help_text="The account is deactivated in the same step, once it owns nothing.",
    )
    request_key = RequestKeyField()

    def __init__(self, *args, new_user_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["new_user"]
        field.choices = [("", "Choose a user"), *new_user_choices]
        field.error_messages["required"] = self.error_messages["new_user_required"]


ASSIGNMENT_PREFIX = "client-"
ASSIGNMENT_NAME = re.compile(rf"^{ASSIGNMENT_PREFIX}(\d+)$")


class TransferPerClientForm(forms.Form):
    """Save: one new user per client. The rows are not declared fields: they are
    read from every "client-<id>" value posted, so that an id the form never
    showed still reaches the service (which refuses it as not linked).

    `client_ids` carries the linked clients the form showed, so the service can
    refuse a form opened before the list changed."""

    error_messages = {
        "invalid_client_ids": "The form was damaged. Open User Transfer again.",
        "invalid_assignment": "Select a valid user.",
        "assign_all_required": "Choose the user to assign every client to.",
        "list_changed": (
            "The clients linked to {old} changed since this form was opened. "
            "The list below is the current one; review it and save again."
        ),
        "unassigned_row": "Choose a new user for this client.",
    }

    client_ids = forms.CharField(widget=forms.HiddenInput, required=False)
    assign_all_to = UserIdField(label="Assign all to", required=False)
    deactivate_old_user = forms.BooleanField(
        label="Deactivate the old user",
        required=False,
        help_text="The account is deactivated in the same step, once it owns nothing.",
    )
    request_key = RequestKeyField()

    def __init__(self, *args, new_user_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assign_all_to"].choices = [("", "Choose a user"), *new_user_choices]
        self.row_errors: dict[int, str] = {}

    def clean_client_ids(self) -> list[int]:
        value = self.cleaned_data["client_ids"].strip()
        if not value:
            return []
        ids = value.split(",")
        if not all(part.isdigit() for part in ids):
            raise forms.ValidationError(
                self.error_messages["invalid_client_ids"], code="invalid_client_ids"
            )
        return [int(part) for part in ids]

    def clean(self):
        cleaned = super().clean()
        assignments: dict[int, int] = {}
        for name in self.data:
            match = ASSIGNMENT_NAME.match(name)
            if not match:
                continue
            value = self.data.get(name, "").strip()
            if not value:
                continue
            if not value.isdigit():
                self.row_errors[int(match.group(1))] = self.error_messages["invalid_assignment"]
                self.add_error(
                    None,
                    forms.ValidationError(
                        self.error_messages["invalid_assignment"], code="invalid_assignment"
                    ),
                )
                continue
            assignments[int(match.group(1))] = int(value)
        cleaned["assignments"] = assignments
        return cleaned

    def posted_assignment(self, client_id: int) -> str:
        if not self.is_bound:
            return ""
        return self.data.get(f"{ASSIGNMENT_PREFIX}{client_id}", "").strip()


class OptionsHTML:
    """The <option>s of a user select, built once and reused for every row: a
    form with 1,000 clients renders 1,000 selects without 1,000 loops."""

    def __init__(self, choices, empty_label="Choose a user"):
        self.values = {value for value, _ in choices}
        parts = [format_html('<option value="">{}</option>', empty_label)]
        parts += [
            format_html('<option value="{}">{}</option>', value, label) for value, label in choices
        ]
        self.html = "".join(parts)

    def render(self, selected: str = ""):
        from django.utils.safestring import mark_safe

        if selected and selected in self.values:
            marker = f'<option value="{selected}">'
            return mark_safe(self.html.replace(marker, f'<option value="{selected}" selected>', 1))
        return mark_safe(self.html)
