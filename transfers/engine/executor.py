"""The one place a plan runs: one durable transaction that locks the users
involved (in primary-key order), checks the plan under those locks, moves the
records with set-based SQL and writes the receipt. Every way in (the screens,
the background worker, the command line, the API) goes through here."""

from typing import Protocol

from django.db import transaction

from transfers.engine.checks import permission_check
from transfers.engine.progress import ProgressHook
from transfers.engine.result import TransferResult, Verdict
from transfers.models import Transfer
from users.models import User


class Plan(Protocol):
    acting_user: User
    request_key: str | None

    def lock(self): ...

    def check(self, locked) -> None: ...

    def run(self, locked, progress: ProgressHook) -> TransferResult: ...


def _saved(request_key: str | None) -> Transfer | None:
    """The receipt saved before under `request_key`, if any."""
    if not request_key:
        return None
    return Transfer.objects.filter(request_key=request_key).first()


def plan_execute(
    plan: Plan,
    *,
    dry_run: bool = False,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | Verdict:
    """Run `plan` in one transaction, or refuse it (TransferRefused) with nothing changed.

    A `request_key` saved before returns that receipt, `replayed`, and does
    nothing. With `dry_run` everything is done and checked, then rolled back:
    the result's unsaved receipt and recipients say what would move. With
    `validate_only` every check is made under the same locks and nothing is
    moved: the answer is a Verdict. `progress` is told the phases and counts."""
    permission_check(plan.acting_user)
    # Asked again under the locks below: this first look only spares the wait.
    if (saved := _saved(plan.request_key)) is not None:  # pragma: no mutate
        return Verdict(saved) if validate_only else TransferResult(saved, replayed=True)
    with transaction.atomic(durable=True):  # pragma: no mutate (refuses callers' misuse only)
        locked = plan.lock()
        # A second submission of the same form waited for the first one's locks.
        if (saved := _saved(plan.request_key)) is not None:
            return Verdict(saved) if validate_only else TransferResult(saved, replayed=True)
        plan.check(locked)
        if validate_only:
            return Verdict()
        result = plan.run(locked, progress or ProgressHook())
        if dry_run:
            transaction.set_rollback(True)
    return result.forgotten() if dry_run else result
