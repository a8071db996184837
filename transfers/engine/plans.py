"""Plans: what a Save, a Distribute or a Revert asks the engine to do, as a value.

A plan says which users it locks, what it checks under those locks and how it
runs; transfers.engine.executor runs any plan the same way, in one
transaction. Dry runs, previews, background jobs and the command line build
the same plans."""

import dataclasses
from collections.abc import Mapping

from django.db.models import Count
from django.utils import timezone

from clients.record_types import RECORD_TYPES, SHARES, RecordCounts
from transfers.engine import checks, faults
from transfers.engine.holdings import linked_client_ids, user_holdings
from transfers.engine.moves import records_move, shares_revoke
from transfers.engine.progress import RECEIPT, ProgressHook
from transfers.engine.receipts import (
    new_owners_notify_after_commit,
    old_user_deactivate,
    old_user_reactivate,
    receipt_totals_save,
)
from transfers.engine.result import TransferResult
from transfers.engine.revert import owned_revert, shares_restore, shares_revert
from transfers.errors import FIELD_ASSIGNMENTS, FIELD_NEW_USER, TransferRefused
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from transfers.receipts.selectors import transfer_revert_refusal
from users.models import User


@dataclasses.dataclass(frozen=True)
class TransferPlan:
    """Move what `old_user_id` holds: everything to `new_user_id` (User Transfer
    All), or each linked client to its user in `client_assignments` (User
    Transfer, Distribute). `expected_client_ids` are the linked clients the
    caller showed (stale_form when they changed since)."""

    acting_user: User
    mode: str
    old_user_id: int
    new_user_id: int | None = None
    client_assignments: Mapping[int, int] | None = None
    expected_client_ids: frozenset[int] | None = None
    deactivate_old_user: bool = False
    request_key: str | None = None

    @property
    def new_user_ids(self) -> set[int]:
        if self.client_assignments is None:
            return {self.new_user_id}
        return set(self.client_assignments.values())

    def clients_by_new_user(self) -> dict[int, list[int]] | None:
        """Each new user's clients, in id order (None: Transfer All, everything)."""
        if self.client_assignments is None:
            return None
        by_user: dict[int, list[int]] = {}
        for client_id, user_id in sorted(self.client_assignments.items()):
            by_user.setdefault(user_id, []).append(client_id)
        return dict(sorted(by_user.items()))

    def lock(self) -> dict[int, User]:
        return checks.users_lock({self.old_user_id, *self.new_user_ids})

    def check(self, users: dict[int, User]) -> None:
        if self.old_user_id not in users:
            raise TransferRefused("old_user_unknown")
        old = users[self.old_user_id]
        checks.active_jobs_check(old=old, request_key=self.request_key)
        by_user = self.clients_by_new_user()
        if by_user is None:
            if self.new_user_id not in users:
                raise TransferRefused("new_user_unknown", field=FIELD_NEW_USER)
        else:
            unknown = [c for c, u in self.client_assignments.items() if u not in users]
            if unknown:
                raise TransferRefused(
                    "new_user_unknown", field=FIELD_ASSIGNMENTS, client_ids=unknown
                )
        receivers = {user_id: users[user_id] for user_id in sorted(self.new_user_ids)}
        checks.receivers_check(old=old, receivers=receivers, client_ids_by_user=by_user)
        if by_user is None:
            if not self.deactivate_old_user and user_holdings(user=old).total == 0:
                raise TransferRefused("nothing_to_transfer", old=old.full_name)
            if self.deactivate_old_user:
                checks.deactivation_check(old=old, acting_user=self.acting_user)
            return
        linked = linked_client_ids(user=old)
        checks.clients_check(
            old=old,
            assigned=self.client_assignments,
            linked=linked,
            expected=self.expected_client_ids,
        )
        if self.deactivate_old_user:
            checks.deactivation_check(old=old, acting_user=self.acting_user)
        if not linked and not self.deactivate_old_user:
            raise TransferRefused("nothing_to_transfer", old=old.full_name)

    def run(self, users: dict[int, User], progress: ProgressHook) -> TransferResult:
        old = users[self.old_user_id]
        now = timezone.now()
        transfer = Transfer.objects.create(
            created_at=now,
            mode=self.mode,
            actor=self.acting_user,
            actor_name=self.acting_user.full_name,
            from_user=old,
            from_user_name=old.full_name,
            deactivated_from_user=self.deactivate_old_user,
            request_key=self.request_key or None,
        )
        by_user = self.clients_by_new_user()
        if by_user is None:  # Transfer All: everything to the one new user
            by_user = {self.new_user_id: None}
        recipients = []
        for user_id, client_ids in by_user.items():
            new = users[user_id]
            counts = records_move(
                transfer_id=transfer.pk,
                old_id=old.pk,
                new_id=new.pk,
                client_ids=client_ids,
                now=now,
                progress=progress,
            )
            recipients.append(
                TransferRecipient(
                    transfer=transfer,
                    to_user=new,
                    to_user_name=new.full_name,
                    counts=counts.to_json(),
                )
            )
        if self.deactivate_old_user:
            # An inactive user keeps no share: those not moved above (outside the
            # clients moved; none after Transfer All, which moves them all) are revoked.
            transfer.revoked_share_count = shares_revoke(transfer_id=transfer.pk, old_id=old.pk)
        progress.started(RECEIPT)
        receipt_totals_save(transfer, recipients, "revoked_share_count")
        if self.deactivate_old_user:
            old_user_deactivate(user=old, acting_user=self.acting_user, transfer_id=transfer.pk)
            faults.fault_point("deactivate", user_id=old.pk)
        new_owners_notify_after_commit(transfer.pk)
        return TransferResult(
            transfer,
            recipients=tuple(recipients),
            client_ids={
                user_id: None if ids is None else tuple(ids) for user_id, ids in by_user.items()
            },
        )


@dataclasses.dataclass(frozen=True)
class RevertPlan:
    """Move back what transfer `transfer_id` moved and is still with the user it
    went to, give back the shares it revoked; reactivate the old user if that
    transfer deactivated them."""

    acting_user: User
    transfer_id: int
    request_key: str | None = None

    def lock(self) -> tuple[Transfer, dict[int, User]]:
        original = Transfer.objects.select_for_update().filter(pk=self.transfer_id).first()
        if original is None:
            raise TransferRefused("revert_not_allowed", reason="it no longer exists.")
        pairs = TransferredRecord.objects.filter(transfer=original).order_by()
        pairs = pairs.values_list("from_user_id", "to_user_id").distinct()
        user_ids = {original.from_user_id, *(pk for pair in pairs for pk in pair)} - {None}
        return original, checks.users_lock(user_ids)

    def check(self, locked: tuple[Transfer, dict[int, User]]) -> None:
        original, users = locked
        refusal = transfer_revert_refusal(transfer=original)
        if refusal is not None:
            raise refusal
        if original.from_user_id in users:
            checks.active_jobs_check(old=users[original.from_user_id], request_key=self.request_key)

    def run(self, locked: tuple[Transfer, dict[int, User]], progress: ProgressHook):
        original, users = locked
        back_to = users[original.from_user_id]
        now = timezone.now()
        revert = Transfer.objects.create(
            created_at=now,
            mode=Transfer.Mode.REVERT,
            actor=self.acting_user,
            actor_name=self.acting_user.full_name,
            from_user=back_to,
            from_user_name=back_to.full_name,
            reverted_transfer=original,
            request_key=self.request_key or None,
        )
        if original.deactivated_from_user and not back_to.is_active:
            old_user_reactivate(user=back_to, acting_user=self.acting_user, transfer_id=revert.pk)
            faults.fault_point("reactivate", user_id=back_to.pk)
            revert.reactivated_user = True
        moved = 0
        for record_type in RECORD_TYPES:
            progress.started(record_type.plural)
            rows = owned_revert(
                revert_id=revert.pk, original_id=original.pk, record_type=record_type, now=now
            )
            faults.fault_point("revert_owned", record_type=record_type.name, rows=rows)
            progress.moved(record_type.name, rows)
            moved += rows
        progress.started(SHARES)
        for record_type in RECORD_TYPES:
            rows = shares_revert(
                revert_id=revert.pk, original_id=original.pk, record_type=record_type
            )
            faults.fault_point("revert_shares", record_type=record_type.share_name, rows=rows)
            progress.moved(SHARES, rows)
            moved += rows
        # The shares the transfer revoked (it deactivated the old user) are given back.
        for record_type in RECORD_TYPES if original.revoked_share_count else ():
            rows = shares_restore(
                revert_id=revert.pk, original_id=original.pk, record_type=record_type
            )
            faults.fault_point("restore_shares", record_type=record_type.share_name, rows=rows)
            revert.revoked_share_count += rows
            moved += rows
        if not moved and not revert.reactivated_user:
            raise TransferRefused(
                "nothing_to_transfer",
                "Everything this transfer moved has changed since: there is nothing to revert.",
            )
        progress.started(RECEIPT)
        recipients = _revert_recipients(revert, users)
        revert.skipped_count = original.records.count() - moved
        receipt_totals_save(
            revert, recipients, "reactivated_user", "skipped_count", "revoked_share_count"
        )
        new_owners_notify_after_commit(revert.pk)
        return TransferResult(revert, recipients=tuple(recipients))


def _revert_recipients(revert: Transfer, users: dict[int, User]) -> list[TransferRecipient]:
    """A revert's rows per user the records went back to, counted from its receipt
    rows (the revoked shares it gave back are counted apart: revoked_share_count)."""
    share_types = {record_type.share_name for record_type in RECORD_TYPES}
    counts: dict[int, RecordCounts] = {}
    totals = (
        TransferredRecord.objects.filter(transfer=revert, share_revoked=False)
        .order_by()
        .values_list("to_user_id", "record_type")
        .annotate(total=Count("pk"))
    )
    for user_id, record_type, total in totals:
        counted = counts.get(user_id, RecordCounts())
        counts[user_id] = counted.added(
            SHARES if record_type in share_types else record_type, total
        )
    return [
        TransferRecipient(
            transfer=revert,
            to_user=users[user_id],
            to_user_name=users[user_id].full_name,
            counts=counted.to_json(),
        )
        for user_id, counted in counts.items()
    ]
