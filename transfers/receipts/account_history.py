"""Reads for the user page: a user's account history, merged from the
account's events (users.AccountEvent) and the receipts that name them (as
the user records came from, or as a recipient), newest first."""

from dataclasses import dataclass
from datetime import datetime

from transfers.models import Transfer, TransferRecipient
from users.models import AccountEvent, User

HISTORY_LIMIT = 100


@dataclass(frozen=True)
class AccountHistoryEntry:
    happened_at: datetime
    kind: str  # an AccountEvent kind, or "transfer_from" / "transfer_to"
    summary: str  # "Deactivated", "Records transferred to Marcus Hale", …
    actor_name: str
    detail: str = ""
    receipt_id: int | None = None


def _counts(row: Transfer | TransferRecipient) -> str:
    return ", ".join(row.record_counts.phrases(zeros=False)) or "nothing"


def _actor(name: str) -> str:
    return name or "the system (command line)"


def _event_entries(user: User, limit: int) -> list[AccountHistoryEntry]:
    entries = []
    for event in AccountEvent.objects.filter(user=user).order_by("-created_at", "-pk")[:limit]:
        summary = event.get_kind_display()
        if event.receipt_number is not None:
            summary += (
                " by a revert" if event.kind == AccountEvent.Kind.REACTIVATED else " by a transfer"
            )
        entries.append(
            AccountHistoryEntry(
                happened_at=event.created_at,
                kind=event.kind,
                summary=summary,
                actor_name=_actor(event.actor_name),
                detail=event.detail,
                receipt_id=event.receipt_number,
            )
        )
    return entries


def _receipt_entry(transfer: Transfer, *, kind: str, summary: str, counted) -> AccountHistoryEntry:
    """An entry for a receipt; `counted` is the transfer or the user's recipient row."""
    return AccountHistoryEntry(
        happened_at=transfer.created_at,
        kind=kind,
        summary=summary,
        actor_name=_actor(transfer.actor_name),
        detail=_counts(counted),
        receipt_id=transfer.pk,
    )


def _transfer_from_entries(user: User, limit: int) -> list[AccountHistoryEntry]:
    """Receipts whose from_user is `user`: records taken from them (for a
    revert: records returned to them)."""
    transfers = (
        Transfer.objects.filter(from_user=user)
        .select_related("reverted_transfer")
        .prefetch_related("recipients", "reverted_transfer__recipients")
        .order_by("-created_at", "-pk")[:limit]
    )
    entries = []
    for transfer in transfers:
        names = ", ".join(r.to_user_name for r in transfer.recipients.all()) or "nobody"
        if transfer.mode == Transfer.Mode.REVERT:
            # A revert's recipient is this user; the records come from the
            # reverted transfer's recipients.
            names = ", ".join(r.to_user_name for r in transfer.reverted_transfer.recipients.all())
            summary = (
                f"Records returned to them from {names} "
                f"(revert of #{transfer.reverted_transfer_id})"
            )
        elif transfer.mode == Transfer.Mode.OWNER_CHANGE:
            summary = f"Owner changed: a record of theirs given to {names}"
        else:
            summary = f"Records transferred from them to {names} ({transfer.get_mode_display()})"
        entries.append(
            _receipt_entry(transfer, kind="transfer_from", summary=summary, counted=transfer)
        )
    return entries


def _taken_back_entries(user: User, limit: int) -> list[AccountHistoryEntry]:
    """Reverts of transfers `user` received records in: records taken back from them."""
    reverts = (
        Transfer.objects.filter(
            mode=Transfer.Mode.REVERT, reverted_transfer__recipients__to_user=user
        )
        .distinct()
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        _receipt_entry(
            revert,
            kind="transfer_from",
            summary=(
                f"Records returned from them to {revert.from_user_name or 'a deleted user'} "
                f"(revert of #{revert.reverted_transfer_id})"
            ),
            counted=revert,
        )
        for revert in reverts
    ]


def _transfer_to_entries(user: User, limit: int) -> list[AccountHistoryEntry]:
    """Receipts where `user` received records."""
    rows = (
        TransferRecipient.objects.filter(to_user=user)
        .select_related("transfer")
        .order_by("-transfer__created_at", "-transfer_id")[:limit]
    )
    entries = []
    for row in rows:
        transfer = row.transfer
        source = transfer.from_user_name or "a deleted user"
        if transfer.mode == Transfer.Mode.REVERT:
            continue  # their own records coming back: told by _transfer_from_entries
        if transfer.mode == Transfer.Mode.OWNER_CHANGE:
            summary = f"Owner changed: given a record of {source}"
        else:
            summary = f"Records received from {source} ({transfer.get_mode_display()})"
        entries.append(_receipt_entry(transfer, kind="transfer_to", summary=summary, counted=row))
    return entries


def user_account_history(*, user: User, limit: int = HISTORY_LIMIT) -> list[AccountHistoryEntry]:
    """Created, deactivated and reactivated (by whom, including by a transfer
    or a revert), groups and access changed, and every receipt from and to
    the user, newest first; at most `limit` entries, in six queries."""
    entries = (
        _event_entries(user, limit)
        + _transfer_from_entries(user, limit)
        + _transfer_to_entries(user, limit)
        + _taken_back_entries(user, limit)
    )
    entries.sort(key=lambda entry: entry.happened_at, reverse=True)
    return entries[:limit]
