"""Why a transfer was refused: one error with a code that forms, the command
line and the tests can rely on."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from clients.models import OWNER_ERRORS
from users.services import DEACTIVATION_ERRORS

FIELD_NEW_USER = "new_user"
FIELD_ASSIGNMENTS = "assignments"
FIELD_DEACTIVATE = "deactivate_old_user"
FIELD_RUN_AT = "run_at"
FIELD_SUSPEND = "suspend_sign_in"

# The refusals of an owner and of a deactivation say what the same rule says
# everywhere else (clients.models, users.services).
MESSAGES = {
    "permission_denied": "You are not allowed to transfer records.",
    "old_user_unknown": "The user to transfer from does not exist.",
    "same_user": "The new user must be someone other than {old}.",
    "new_user_unknown": "The new user does not exist.",
    "new_user_inactive": OWNER_ERRORS["owner_inactive"],
    "new_user_ineligible": OWNER_ERRORS["owner_ineligible"],
    "new_user_suspended": OWNER_ERRORS["owner_suspended"],
    "client_not_linked": "{count} of the chosen clients are not linked to {old}.",
    "client_unassigned": "Choose a new user for every client ({count} left without one).",
    "stale_form": (
        "The clients linked to {old} changed since this form was opened "
        "(someone transferred or created records meanwhile). Review the list and save again."
    ),
    "nothing_to_transfer": "{old} owns nothing and holds no shares: there is nothing to transfer.",
    "deactivate_self": DEACTIVATION_ERRORS["deactivate_self"],
    "last_superuser": DEACTIVATION_ERRORS["last_superuser"],
    "owns_records": DEACTIVATION_ERRORS["owns_records"],
    "revert_not_allowed": "This transfer cannot be reverted: {reason}",
    "revert_conflict": "This transfer cannot be reverted: {reason}",
    "transfer_in_progress": (
        "A transfer of {old}'s records is already queued or running. "
        "Wait for it to finish, then save again if anything is left."
    ),
    "transfer_scheduled": (
        "A transfer of {old}'s records is scheduled for {when}. "
        "Cancel it first to transfer them now or at another time."
    ),
    "job_ended": "This transfer was ended before it could run ({status}); nothing was changed.",
    "job_not_cancellable": "This transfer can no longer be cancelled: it is {status}.",
    "schedule_in_past": "Choose a date and time in the future.",
}


class _Params(dict):
    """Format parameters; a missing one reads as a neutral phrase."""

    def __missing__(self, key: str) -> str:
        return {"old": "the old user", "name": "This user", "count": "Some"}.get(key, "")


class TransferRefused(ValidationError):
    """A transfer or revert that was refused; nothing was changed.

    `code` says why, `field` which form field it concerns ("new_user",
    "assignments", "deactivate_old_user" or None for the whole form), and
    `client_ids` the clients concerned when the reason is client-specific.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        field: str | None = None,
        client_ids: Iterable[int] = (),
        **params: object,
    ) -> None:
        if message is None:
            message = MESSAGES[code].format_map(_Params(params))
        super().__init__(message, code=code)
        self.field = field
        self.client_ids = sorted(client_ids)

    def __repr__(self) -> str:
        return f"TransferRefused(code={self.code!r}, message={self.message!r})"


class TransferInProgress(TransferRefused):
    """A transfer or revert of the same old user is already scheduled, queued
    or running: `job` is that TransferJob (code transfer_scheduled for a
    scheduled one, transfer_in_progress otherwise). `message` may replace the
    standard one (with a link to the job, on the screens)."""

    def __init__(self, job, message: str | None = None) -> None:
        code = "transfer_scheduled" if job.status == "scheduled" else "transfer_in_progress"
        super().__init__(code, message, old=job.from_user_name, when=job.run_at_text)
        self.job = job
