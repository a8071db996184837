"""Forms of the transfer screens. They check the shape of the input and what
the buttons that fill User Transfer's rows need; who may receive what is
decided by the engine (transfers.engine), whose refusals the views add to
these forms (add_refusal)."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.text import get_text_list

from clients.models import Client
from transfers.engine.distribution import DistributionMode
from transfers.errors import TransferRefused
from transfers.web.fields import (
    RequestKeyField,
    UserIdField,
    UserReferenceField,
    parse_user_reference,
    user_reference,
    users_named,
)
from users.models import User


class RefusalMixin:
    """A form that shows a transfer service's refusal: next to its field, or
    at the top when the form has no such field."""

    refusal: TransferRefused | None = None

    def add_refusal(self, refusal: TransferRefused) -> None:
        self.refusal = refusal
        self.add_error(refusal.field if refusal.field in self.fields else None, refusal)


class WhenMixin(forms.Form):
    """*When*: Now, or On a date and time (in the firm's time zone, TIME_ZONE),
    and *Suspend sign-in now*."""

    NOW, AT = "now", "at"
    when = forms.ChoiceField(
        label="When",
        choices=[(NOW, "Now"), (AT, "On a date and time")],
        initial=NOW,
        required=False,
        widget=forms.RadioSelect,
    )
    run_at = forms.DateTimeField(
        label="Date and time",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    suspend_sign_in = forms.BooleanField(
        label="Suspend sign-in now",
        required=False,
        help_text="The old user can no longer sign in from this Save on, whatever they still own.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["run_at"].help_text = (
            f"In the firm's time zone ({settings.TIME_ZONE}). The transfer is checked now, "
            "and again when it runs."
        )

    def clean(self):
        cleaned = super().clean()
        missing = cleaned.get("when") == self.AT and not cleaned.get("run_at")
        if missing and "run_at" not in self.errors:
            self.add_error("run_at", "Choose the date and time to run it.")
        return cleaned

    def scheduled_for(self):
        """The time chosen under *On a date and time*, or None for *Now*."""
        data = self.cleaned_data
        return data.get("run_at") if data.get("when") == self.AT else None


DEACTIVATE_HELP = "The account is deactivated in the same step, once it owns nothing."


def shares_word(count: int) -> str:
    return f"{count} share{'' if count == 1 else 's'}"


class TransferAllForm(RefusalMixin, WhenMixin, forms.Form):
    error_messages = {"new_user_required": "Choose the user who receives everything."}

    new_user = UserIdField(label="New user")
    deactivate_old_user = forms.BooleanField(
        label="Deactivate the old user",
        required=False,
        help_text=DEACTIVATE_HELP,
    )
    request_key = RequestKeyField()

    def __init__(self, *args, new_user_choices=(), shares: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        if shares:
            # A deactivating transfer revokes the shares it does not move: this one moves them all.
            self.fields["deactivate_old_user"].help_text = (
                f"{DEACTIVATE_HELP} The {shares_word(shares)} go{'es' if shares == 1 else ''} "
                "to the new user: none is revoked."
            )
        field = self.fields["new_user"]
        field.choices = [("", "Choose a user"), *new_user_choices]
        field.error_messages["required"] = self.error_messages["new_user_required"]

    def transfer_arguments(self) -> dict:
        """The arguments of services.records_transfer_all this form gives."""
        data = self.cleaned_data
        return {"new_user": data["new_user"], "deactivate_old_user": data["deactivate_old_user"]}


ASSIGNMENT_PREFIX = "client-"
ASSIGNMENT_NAME = re.compile(rf"^{ASSIGNMENT_PREFIX}(\d+)$")

# User Transfer handles this many linked clients in one Save; a bigger book
# goes through `manage.py transfer_user --plan` (or --distribute).
PER_CLIENT_MAX_CLIENTS = 5_000
# The fields its Save may post: per row the new user and, when ticked, the
# row's checkbox; the users ticked under "Distribute among"; the rest.
PER_CLIENT_MAX_FIELDS = 2 * PER_CLIENT_MAX_CLIENTS + 2_000 + 100

# The buttons of User Transfer: Save, and those that only fill or show the form.
FILL_ACTIONS = ("assign_all", "assign_selected", "distribute")
ACTIONS = ("save", "filter", "preview", *FILL_ACTIONS)


def too_many_clients_message(old_username: str = "OLD") -> str:
    return (
        f"User Transfer handles up to {PER_CLIENT_MAX_CLIENTS:,} clients in one Save. "
        f"Transfer a bigger book from the command line: manage.py transfer_user "
        f"{old_username} --plan plan.csv --by YOUR_USERNAME (or --distribute with the "
        f"usernames of the new users)."
    )


@dataclass(frozen=True)
class PostFieldLimit:
    """A view's `post_field_limit` (casengine.middleware): the most fields its
    form may post, and the page that refuses more."""

    max_fields: int
    refusal_template: str

    def refusal_context(self) -> dict:
        return {"message": too_many_clients_message(), "max_fields": self.max_fields}


PER_CLIENT_POST_LIMIT = PostFieldLimit(PER_CLIENT_MAX_FIELDS, "transfers/transfer_too_large.html")


class TransferPerClientForm(RefusalMixin, WhenMixin, forms.Form):
    """User Transfer: one new user per client, and the tools that fill the rows
    (Assign all / Assign selected / Distribute), the filter and the preview.
    `action` is the button pressed.

    The rows are not declared fields: they are read from every "client-<id>"
    value posted, so that an id the form never showed still reaches the service
    (which refuses it as not linked). A row's value names a user
    (parse_user_reference); usernames are looked up in one query, and an id
    goes to the service as it is, which refuses one that may not receive.

    `client_ids` carries the linked clients the form showed, so the service can
    refuse a form opened before the list changed. A button that fills the rows
    fills the current list (`listed_clients`) and says so (list_changed) when
    it differs. Distribute may spread the clients among `eligible_users` only.
    Both are callables, called by the buttons that need them."""

    error_messages = {
        "invalid_client_ids": "The form was damaged. Open User Transfer again.",
        "invalid_assignment": "Choose a user from the list.",
        "ambiguous_user": "“{text}” names several users: {names}. Choose one from the list.",
        "assign_all_required": "Choose the user to assign every client to.",
        "assign_selected_required": "Choose the user to assign the selected clients to.",
        "nothing_selected": "Select the clients to assign first.",
        "distribute_to_required": "Choose the users to distribute the clients among.",
        "distribute_to_invalid": (
            "Distribute among users who may receive records: {names} may not. "
            "The list below is the current one."
        ),
        "list_changed": (
            "The clients linked to {old} changed since this form was opened. "
            "The list below is the current one; review it and save again."
        ),
        "unassigned_row": "Choose a new user for this client.",
        "too_many_clients": too_many_clients_message(),
    }

    client_ids = forms.CharField(widget=forms.HiddenInput, required=False)
    q = forms.CharField(
        label="Filter clients",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "data-row-filter": ""}),
        help_text="Client name or number.",
    )
    select_shown = forms.BooleanField(label="Select all shown clients", required=False)
    assign_all_to = UserReferenceField(label="Assign all to")
    assign_selected_to = UserReferenceField(label="Assign selected to")
    user_q = forms.CharField(
        label="Filter users",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "data-user-filter": ""}),
    )
    distribute_mode = forms.ChoiceField(
        label="Distribute by",
        choices=DistributionMode.CHOICES,
        required=False,
        initial=DistributionMode.WORKLOAD,
        widget=forms.RadioSelect,
    )
    distribute_replace = forms.BooleanField(
        label="Replace assignments already made",
        required=False,
        help_text="Without it, Distribute fills only the rows nobody is assigned to yet.",
    )
    deactivate_old_user = forms.BooleanField(
        label="Deactivate the old user",
        required=False,
        help_text=DEACTIVATE_HELP,
    )
    request_key = RequestKeyField()

    def __init__(
        self,
        *args,
        old_user: User | None = None,
        listed_clients: Callable[[], list[Client]] = list,
        eligible_users: Callable[[], list[User]] = list,
        shares_revoked: int = 0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if shares_revoked:
            # What a deactivating Save revokes (transfers.engine.moves.shares_revoke).
            self.fields["deactivate_old_user"].help_text = (
                f"{DEACTIVATE_HELP} {shares_word(shares_revoked)} on other clients will be "
                "revoked: only the shares within the clients above move."
            )
        self.old_user = old_user
        self.old_username = old_user.username if old_user else "OLD"
        self.listed_clients = listed_clients
        self.eligible_users = eligible_users
        self.row_errors: dict[int, str] = {}
        self.usernames: dict[str, int] = {}

    @property
    def action(self) -> str:
        """The button pressed (one of ACTIONS): Save unless another was."""
        action = self.data.get("action", "save") if self.is_bound else "save"
        return action if action in ACTIONS else "save"

    def _ids(self, name: str) -> list[int]:
        values = [value.strip() for value in self.data.getlist(name)] if self.is_bound else []
        if not all(value.isdigit() for value in values):
            raise forms.ValidationError(
                self.error_messages["invalid_client_ids"], code="invalid_client_ids"
            )
        return list(dict.fromkeys(int(value) for value in values))

    def clean_client_ids(self) -> list[int]:
        value = self.cleaned_data["client_ids"].strip()
        if not value:
            return []
        ids = value.split(",")
        if not all(part.isdigit() for part in ids):
            raise forms.ValidationError(
                self.error_messages["invalid_client_ids"], code="invalid_client_ids"
            )
        if len(ids) > PER_CLIENT_MAX_CLIENTS:
            raise forms.ValidationError(
                too_many_clients_message(self.old_username), code="too_many_clients"
            )
        return [int(part) for part in ids]

    def clean_distribute_mode(self) -> str:
        return self.cleaned_data["distribute_mode"] or DistributionMode.WORKLOAD

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["selected"] = self._ids("selected")
            cleaned["distribute_to"] = self._ids("distribute_to")
        except forms.ValidationError as error:
            self.add_error(None, error)
            return cleaned
        texts: dict[int, str] = {}
        for name in self.data:
            match = ASSIGNMENT_NAME.match(name)
            if match:
                text = self.data.get(name, "").strip()
                if text:
                    texts[int(match.group(1))] = text
        if len(texts) > PER_CLIENT_MAX_CLIENTS:
            self.add_error(
                None,
                forms.ValidationError(
                    too_many_clients_message(self.old_username), code="too_many_clients"
                ),
            )
            return cleaned
        references = {client_id: parse_user_reference(text) for client_id, text in texts.items()}
        for name in ("assign_all_to", "assign_selected_to"):
            if cleaned.get(name):
                references[name] = parse_user_reference(cleaned[name])
        usernames = {ref for ref in references.values() if isinstance(ref, str)}
        if usernames:
            self.usernames = dict(
                User.objects.filter(username__in=usernames).values_list("username", "pk")
            )
        resolved: dict = {}
        for key, reference in references.items():
            user_id = reference if isinstance(reference, int) else self.usernames.get(reference)
            if user_id is None and isinstance(reference, str):
                matches = users_named(reference, self.eligible_users())
                if len(matches) == 1:
                    user_id = matches[0].pk
                elif matches:
                    message = self.error_messages["ambiguous_user"].format(
                        text=reference,
                        names=", ".join(user_reference(user) for user in matches),
                    )
                    if isinstance(key, int):
                        self.row_errors[key] = message
                    else:
                        self.add_error(key, forms.ValidationError(message, code="ambiguous_user"))
                    continue
            if user_id is None:
                if isinstance(key, int):
                    self.row_errors[key] = self.error_messages["invalid_assignment"]
                else:
                    self.add_error(
                        key,
                        forms.ValidationError(
                            self.error_messages["invalid_assignment"], code="invalid_assignment"
                        ),
                    )
                continue
            resolved[key] = user_id
        if self.row_errors:
            self.add_error(
                None,
                forms.ValidationError(
                    self.error_messages["invalid_assignment"], code="invalid_assignment"
                ),
            )
        cleaned["assignments"] = {k: v for k, v in resolved.items() if isinstance(k, int)}
        cleaned["assign_all_user"] = resolved.get("assign_all_to")
        cleaned["assign_selected_user"] = resolved.get("assign_selected_to")
        if not self.errors and self.action in FILL_ACTIONS:
            self._clean_fill(cleaned)
        return cleaned

    def _clean_fill(self, cleaned: dict) -> None:
        """What a button that fills the rows needs, on an otherwise valid form."""
        action = self.action
        if action == "assign_all" and cleaned["assign_all_user"] is None:
            self._error("assign_all_to", "assign_all_required")
        elif action == "assign_selected" and cleaned["assign_selected_user"] is None:
            self._error("assign_selected_to", "assign_selected_required")
        elif action == "assign_selected" and not (cleaned["selected"] or cleaned["select_shown"]):
            self._error("assign_selected_to", "nothing_selected")
        elif action == "distribute" and not cleaned["distribute_to"]:
            self._error(None, "distribute_to_required")
        elif action == "distribute":
            eligible = {user.pk for user in self.eligible_users()}
            not_eligible = [pk for pk in cleaned["distribute_to"] if pk not in eligible]
            if not_eligible:
                names = User.objects.filter(pk__in=not_eligible).order_by(
                    "first_name", "last_name", "pk"
                )
                text = get_text_list(
                    [user.full_name for user in names] or ["an unknown user"], "and"
                )
                self._error(None, "distribute_to_invalid", names=text)
        if not self.errors and cleaned["client_ids"] != self.listed_client_ids():
            # The rows are filled all the same, with the current list.
            self._error(None, "list_changed", old=self.old_user.full_name)

    def _error(self, field: str | None, code: str, **params: str) -> None:
        message = self.error_messages[code].format(**params)
        self.add_error(field, forms.ValidationError(message, code=code))

    def transfer_arguments(self) -> dict:
        """The arguments of services.records_transfer_per_client this form gives."""
        data = self.cleaned_data
        return {
            "assignments": data["assignments"],
            "deactivate_old_user": data["deactivate_old_user"],
            "expected_client_ids": data["client_ids"],
        }

    def listed_client_ids(self) -> list[int]:
        return [client.pk for client in self.listed_clients()]

    def fills_rows(self) -> bool:
        """Whether the button pressed fills the rows: on a valid form, or one
        whose only error is that the list changed since it was shown."""
        return self.action in FILL_ACTIONS and (
            self.is_valid() or self.has_error(NON_FIELD_ERRORS, "list_changed")
        )

    def posted_assignment(self, client_id: int) -> str:
        if not self.is_bound:
            return ""
        return self.data.get(f"{ASSIGNMENT_PREFIX}{client_id}", "").strip()
