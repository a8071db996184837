"""What the engine answers: the result of a transfer or revert, or the verdict of a check."""

import dataclasses
from collections.abc import Mapping

from transfers.models import Transfer, TransferRecipient


@dataclasses.dataclass(frozen=True)
class TransferResult:
    """What a transfer or revert did.

    `transfer` is its receipt: unsaved (no pk) after a `dry_run`, and the one
    saved before under the same request_key when `replayed` (then nothing was
    done now). `recipients` are the receipt's rows per new user as written
    (none for a replay); `client_ids` maps each new user's id to the clients
    they received (None: everything, as in User Transfer All)."""

    transfer: Transfer
    recipients: tuple[TransferRecipient, ...] = ()
    client_ids: Mapping[int, tuple[int, ...] | None] = dataclasses.field(default_factory=dict)
    replayed: bool = False
    dry_run: bool = False

    def forgotten(self) -> "TransferResult":
        """This result after its transaction was rolled back (a dry run): no ids."""
        self.transfer.pk = None
        for recipient in self.recipients:
            recipient.pk = None
        return dataclasses.replace(self, dry_run=True)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The answer of a check made under the locks that moved nothing: the plan
    would be accepted (a refusal is raised, as TransferRefused), or it was
    saved before under the same request_key (`saved` is that receipt)."""

    saved: Transfer | None = None

    @property
    def replayed(self) -> bool:
        return self.saved is not None


class TransferIntegrityError(RuntimeError):
    """The receipt and the rows moved disagree: rolled back."""
