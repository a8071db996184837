"""Transfers of ownership: every write of the transfer engine.

Each service is one durable transaction that

1. locks the users involved (`SELECT ... FOR UPDATE`, in primary-key order
   so two transfers never deadlock), which serialises transfers of the same
   user, record creation for them (clients/services.py locks the owner row)
   and their deactivation (users.services.user_set_active locks it too);
2. validates everything under that lock, re-reading what the user holds;
3. moves records with set-based SQL: per record type one INSERT ... SELECT
   of the receipt rows and one UPDATE of the owners (per new user for a
   per-client transfer), so the number of queries does not depend on the
   number of records;
4. moves the old user's explicit (user) shares, de-duplicated;
5. writes the receipt and, if asked, deactivates the old user;
6. emails each new owner a summary after commit.

Shares. The old user's share rows are re-pointed at the new user. When the
new user already holds the same share, the old user's row is deleted instead
and the receipt row is marked `share_merged`; a revert gives the share back
to the old user and leaves the new user's own one alone. A share on a record
the new user now owns is kept: it is harmless (ownership already grants
access) and keeping it makes a revert exact.
"""

import dataclasses
from collections.abc import Callable, Collection, Mapping
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Model
from django.db.models.expressions import RawSQL
from django.utils import timezone

from clients.record_types import RECORD_TYPES, record_type_of
from transfers.background.progress import ProgressHook
from transfers.errors import (
    FIELD_ASSIGNMENTS,
    FIELD_DEACTIVATE,
    FIELD_NEW_USER,
    TransferRefused,
)
from transfers.models import Transfer, TransferJob, TransferRecipient, TransferredRecord
from transfers.notifications import transfer_notify_recipients
from transfers.selectors import linked_client_ids, transfer_revert_refusal, user_holdings
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.selectors import eligible_owners
from users.services import deactivation_refusal, user_set_active

# (receipt type, model, the field that names the record's client)
RECORD_STEPS: tuple[tuple[str, type[Model], str], ...] = tuple(
    (record_type.name, record_type.model, record_type.client_field) for record_type in RECORD_TYPES
)
# (receipt type, share model, shared record model)
SHARE_STEPS: tuple[tuple[str, type[Model], type[Model]], ...] = tuple(
    (record_type.share_name, record_type.user_share_model, record_type.model)
    for record_type in RECORD_TYPES
)
COUNT_FIELDS = {
    **{record_type.name: record_type.count_field for record_type in RECORD_TYPES},
    **{record_type.share_name: "share_count" for record_type in RECORD_TYPES},
}
PHASES = {record_type.name: record_type.plural for record_type in RECORD_TYPES}
AUDIT_FIELDS = (
    "transfer",
    "record_type",
    "record_id",
    "permission",
    "share_merged",
    "from_user",
    "to_user",
)


COUNTS = (*(record_type.count_field for record_type in RECORD_TYPES), "share_count")


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


class _DryRun(Exception):
    """Raised inside the transaction of a dry run to roll it back."""

    def __init__(self, result: TransferResult) -> None:
        super().__init__("dry run")
        self.result = result


class TransferIntegrityError(RuntimeError):
    """The receipt and the rows moved disagree: rolled back."""


# --- SQL helpers: names from the models' _meta, values always bound ---------


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: type[Model]) -> str:
    return _quote(model._meta.db_table)


def _column(model: type[Model], field: str) -> str:
    return _quote(model._meta.get_field(field).column)


def _in(column_sql: str, ids: Collection[int]) -> tuple[str, list]:
    ids = [int(pk) for pk in ids]
    if connection.vendor == "postgresql":
        return f"{column_sql} = ANY(%s)", [ids]
    return f"{column_sql} IN ({', '.join(['%s'] * len(ids))})", ids


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _audit_insert_prefix() -> str:
    columns = ", ".join(_column(TransferredRecord, field) for field in AUDIT_FIELDS)
    return f"INSERT INTO {_table(TransferredRecord)} ({columns}) "


# --- steps ------------------------------------------------------------------

# Each step calls fault_point(step, ...) once it has run, inside the transaction.
STEP_NAMES = (
    "locked",
    "audit_owned",
    "move_owned",
    "move_shares",
    "deactivate",
    "revert_owned",
    "revert_shares",
    "reactivate",
)


def fault_point(step: str, **details: object) -> None:
    """Reached after each step of a transfer or revert, with the step's name
    (one of STEP_NAMES) and what it worked on. It does nothing: tests replace
    it to fail, or to hold the transaction open, at a chosen step."""


def _audit_owned(
    *,
    transfer_id: int,
    record_type: str,
    model: type[Model],
    client_field: str,
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
) -> int:
    """Receipt rows for the records of `model` that are about to move."""
    table = _table(model)
    where = f"{table}.{_column(model, 'owner')} = %s"
    params: list = [transfer_id, record_type, False, old_id, new_id, old_id]
    if client_ids is not None:
        scope, scope_params = _in(f"{table}.{_column(model, client_field)}", client_ids)
        where += f" AND {scope}"
        params += scope_params
    sql = (
        _audit_insert_prefix()
        + f"SELECT %s, %s, {table}.{_column(model, 'id')}, NULL, %s, %s, %s "
        + f"FROM {table} WHERE {where}"
    )
    return _execute(sql, params)


def _move_owned(
    *,
    model: type[Model],
    client_field: str,
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
    now,
) -> int:
    records = model.objects.filter(owner_id=old_id)
    if client_ids is not None:
        lookup = "pk__in" if client_field == "id" else f"{client_field}_id__in"
        records = records.filter(**{lookup: list(client_ids)})
    return records.update(owner_id=new_id, updated_at=now)


def _share_scope(
    share_model: type[Model], record_model: type[Model], client_ids: Collection[int] | None
) -> tuple[str, list]:
    if client_ids is None:
        return "", []
    shared = f"{_table(share_model)}.{_column(share_model, 'content_object')}"
    client_field = record_type_of(record_model).client_field
    if client_field == "id":
        scope, params = _in(shared, client_ids)
    else:
        inner, params = _in(_column(record_model, client_field), client_ids)
        scope = (
            f"{shared} IN (SELECT {_column(record_model, 'id')} "
            f"FROM {_table(record_model)} WHERE {inner})"
        )
    return f" AND {scope}", params


def _move_shares(
    *,
    transfer_id: int,
    record_type: str,
    share_model: type[Model],
    record_model: type[Model],
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
) -> int:
    """Move the old user's shares of one type to the new user, de-duplicated."""
    table = _table(share_model)
    user = _column(share_model, "user")
    shared = _column(share_model, "content_object")
    permission = _column(share_model, "permission")
    scope, scope_params = _share_scope(share_model, record_model, client_ids)
    held_by_new = (
        f"EXISTS (SELECT 1 FROM {table} held WHERE held.{user} = %s "
        f"AND held.{shared} = {table}.{shared} AND held.{permission} = {table}.{permission})"
    )
    audited = _execute(
        _audit_insert_prefix()
        + f"SELECT %s, %s, {table}.{shared}, {table}.{permission}, {held_by_new}, %s, %s "
        + f"FROM {table} WHERE {table}.{user} = %s{scope}",
        [transfer_id, record_type, new_id, old_id, new_id, old_id, *scope_params],
    )
    if not audited:
        return 0
    _execute(
        f"DELETE FROM {table} WHERE {table}.{user} = %s{scope} AND {held_by_new}",
        [old_id, *scope_params, new_id],
    )
    _execute(
        f"UPDATE {table} SET {user} = %s WHERE {table}.{user} = %s{scope}",
        [new_id, old_id, *scope_params],
    )
    return audited


def _move_to(
    *,
    transfer_id: int,
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
    now,
    progress: ProgressHook,
) -> dict[str, int]:
    """Move what `old_id` holds (within `client_ids`, or everything) to `new_id`."""
    counts = dict.fromkeys(COUNTS, 0)
    for record_type, model, client_field in RECORD_STEPS:
        progress.started(PHASES[record_type])
        audited = _audit_owned(
            transfer_id=transfer_id,
            record_type=record_type,
            model=model,
            client_field=client_field,
            old_id=old_id,
            new_id=new_id,
            client_ids=client_ids,
        )
        fault_point("audit_owned", record_type=record_type, rows=audited)
        moved = _move_owned(
            model=model,
            client_field=client_field,
            old_id=old_id,
            new_id=new_id,
            client_ids=client_ids,
            now=now,
        )
        fault_point("move_owned", record_type=record_type, rows=moved)
        if audited != moved:
            raise TransferIntegrityError(
                f"{audited} {record_type} receipt rows for {moved} records moved"
            )
        counts[COUNT_FIELDS[record_type]] += moved
        progress.moved(COUNT_FIELDS[record_type], moved)
    progress.started("shares")
    for record_type, share_model, record_model in SHARE_STEPS:
        shares = _move_shares(
            transfer_id=transfer_id,
            record_type=record_type,
            share_model=share_model,
            record_model=record_model,
            old_id=old_id,
            new_id=new_id,
            client_ids=client_ids,
        )
        fault_point("move_shares", record_type=record_type, rows=shares)
        counts["share_count"] += shares
        progress.moved("share_count", shares)
    return counts


def _deactivate(*, user: User, acting_user: User, transfer_id: int | None = None) -> None:
    """Deactivate the old user through the one function that may do it."""
    try:
        user_set_active(
            user=user, is_active=False, acting_user=acting_user, receipt_number=transfer_id
        )
    except ValidationError as error:
        raise TransferRefused(error.code, field=FIELD_DEACTIVATE, name=user.full_name) from error


def _reactivate(*, user: User, acting_user: User, transfer_id: int | None = None) -> None:
    user_set_active(user=user, is_active=True, acting_user=acting_user, receipt_number=transfer_id)


def _notify_after_commit(transfer_id: int) -> None:
    """Email the new owners once the transaction has committed; a failing
    mail server is logged and does not undo the transfer."""

    def notify_new_owners() -> None:
        transfer_notify_recipients(transfer_id)

    transaction.on_commit(notify_new_owners, robust=True)


# --- validation -------------------------------------------------------------


def _check_permission(acting_user: User) -> None:
    if (
        acting_user is None
        or not acting_user.is_active
        or not acting_user.has_perm(TRANSFER_RECORDS_PERMISSION)
    ):
        raise TransferRefused("permission_denied")


def _user_id(value: object, *, code: str, field: str | None) -> int:
    if isinstance(value, User):
        return value.pk
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise TransferRefused(code, field=field) from None


def _replay(request_key: str | None) -> TransferResult | None:
    """The result of the transfer saved before under `request_key`, if any."""
    if not request_key:
        return None
    existing = Transfer.objects.filter(request_key=request_key).first()
    return None if existing is None else TransferResult(existing, replayed=True)


def _lock_users(user_ids: Collection[int]) -> dict[int, User]:
    """Lock the rows of the users involved, always in primary-key order."""
    locked = User.objects.select_for_update().filter(pk__in=set(user_ids)).order_by("pk")
    users = {user.pk: user for user in locked}
    fault_point("locked", user_ids=sorted(users))
    return users


def _check_active_jobs(*, old: User, request_key: str | None) -> None:
    """One scheduled, queued or running transfer per old user, whatever the
    door (screens, worker, command line). A job's own run (its request_key)
    goes on only while its row says running: it may have been cancelled or
    given up for dead meanwhile, and locking that row makes the reaper wait."""
    jobs = TransferJob.objects.filter(from_user_id=old.pk, status__in=TransferJob.ACTIVE)
    own = None
    if request_key:
        own = TransferJob.objects.select_for_update().filter(request_key=request_key).first()
        if own is not None and own.status != TransferJob.Status.RUNNING:
            raise TransferRefused("job_ended", status=own.get_status_display().lower())
    other = jobs.exclude(pk=own.pk).first() if own else jobs.first()
    if other is not None:
        raise TransferRefused(
            "transfer_scheduled"
            if other.status == TransferJob.Status.SCHEDULED
            else "transfer_in_progress",
            old=old.full_name,
            when=other.run_at_text,
        )


def _validate_receivers(
    *, old: User, receivers: dict[int, User], client_ids_by_user: dict[int, list[int]] | None
) -> None:
    field = FIELD_NEW_USER if client_ids_by_user is None else FIELD_ASSIGNMENTS

    def clients_of(user: User) -> list[int]:
        return (client_ids_by_user or {}).get(user.pk, [])

    for user in receivers.values():
        if user.pk == old.pk:
            raise TransferRefused(
                "same_user", field=field, client_ids=clients_of(user), old=old.full_name
            )
    for user in receivers.values():
        if not user.is_active:
            raise TransferRefused(
                "new_user_inactive", field=field, client_ids=clients_of(user), name=user.full_name
            )
    eligible = set(eligible_owners().filter(pk__in=list(receivers)).values_list("pk", flat=True))
    for user in receivers.values():
        if user.pk not in eligible:
            raise TransferRefused(
                "new_user_ineligible",
                field=field,
                client_ids=clients_of(user),
                name=user.full_name,
            )


def _check_deactivation(*, old: User, acting_user: User) -> None:
    """Refusals that do not depend on what is moved; owns_records is checked
    again after the moves, by user_set_active."""
    refusal = deactivation_refusal(user=old, acting_user=acting_user)
    if refusal is not None and refusal.code != "owns_records":
        raise TransferRefused(refusal.code, field=FIELD_DEACTIVATE, name=old.full_name)


# --- the transaction --------------------------------------------------------


def _run(work: Callable[[], TransferResult | None], *, dry_run: bool) -> TransferResult | None:
    try:
        with transaction.atomic(durable=True):
            result = work()
            if dry_run:
                raise _DryRun(result)
    except _DryRun as rollback:
        # Nothing was saved: forget the ids the rolled-back rows had.
        result = rollback.result
        result.transfer.pk = None
        for recipient in result.recipients:
            recipient.pk = None
        result = dataclasses.replace(result, dry_run=True)
    return result


def _save_tally(transfer: Transfer, recipients: Collection[TransferRecipient], *also: str) -> None:
    """Write the receipt's rows per new user and its totals, their sums
    (`also`: more fields of the receipt to save with them)."""
    TransferRecipient.objects.bulk_create(recipients)
    for count in COUNTS:
        setattr(transfer, count, sum(getattr(recipient, count) for recipient in recipients))
    transfer.save(update_fields=[*COUNTS, *also])


def _record_transfer(
    *,
    acting_user: User,
    old: User,
    groups: list[tuple[User, list[int] | None]],
    mode: str,
    deactivate: bool,
    request_key: str | None,
    progress: ProgressHook,
) -> TransferResult:
    now = timezone.now()
    transfer = Transfer.objects.create(
        created_at=now,
        mode=mode,
        actor=acting_user,
        actor_name=acting_user.full_name,
        from_user=old,
        from_user_name=old.full_name,
        deactivated_from_user=deactivate,
        request_key=request_key or None,
    )
    recipients = []
    for new, client_ids in groups:
        counts = _move_to(
            transfer_id=transfer.pk,
            old_id=old.pk,
            new_id=new.pk,
            client_ids=client_ids,
            now=now,
            progress=progress,
        )
        recipients.append(
            TransferRecipient(transfer=transfer, to_user=new, to_user_name=new.full_name, **counts)
        )
    progress.started("receipt")
    _save_tally(transfer, recipients)
    if deactivate:
        _deactivate(user=old, acting_user=acting_user, transfer_id=transfer.pk)
        fault_point("deactivate", user_id=old.pk)
    _notify_after_commit(transfer.pk)
    return TransferResult(
        transfer,
        recipients=tuple(recipients),
        client_ids={
            new.pk: None if client_ids is None else tuple(client_ids) for new, client_ids in groups
        },
    )


def records_transfer_all(
    *,
    acting_user: User,
    old_user: User | int,
    new_user: User | int | str,
    deactivate_old_user: bool = False,
    request_key: str | None = None,
    dry_run: bool = False,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | None:
    """Transfer every client, matter and case `old_user` owns, and their
    explicit shares, to `new_user` ("User Transfer All").

    Returns a TransferResult; a `request_key` saved before returns that
    transfer, `replayed`, and does nothing. With `dry_run` everything is done
    and checked, then rolled back: the result's unsaved receipt and its
    `recipients` say what would move. With `validate_only` every check is
    made under the same locks and nothing is moved: None, or the refusal (or
    the replayed result of `request_key`). `progress` is told the phases and
    counts as they happen.
    """
    _check_permission(acting_user)
    if (replayed := _replay(request_key)) is not None:
        return replayed
    old_id = _user_id(old_user, code="old_user_unknown", field=None)
    new_id = _user_id(new_user, code="new_user_unknown", field=FIELD_NEW_USER)

    def work() -> TransferResult | None:
        users = _lock_users({old_id, new_id})
        if (replayed := _replay(request_key)) is not None:
            return replayed
        if old_id not in users:
            raise TransferRefused("old_user_unknown")
        if new_id not in users:
            raise TransferRefused("new_user_unknown", field=FIELD_NEW_USER)
        old, new = users[old_id], users[new_id]
        _check_active_jobs(old=old, request_key=request_key)
        _validate_receivers(old=old, receivers={new.pk: new}, client_ids_by_user=None)
        if deactivate_old_user:
            _check_deactivation(old=old, acting_user=acting_user)
        if not deactivate_old_user and user_holdings(user=old).total == 0:
            raise TransferRefused("nothing_to_transfer", old=old.full_name)
        if validate_only:
            return None
        return _record_transfer(
            acting_user=acting_user,
            old=old,
            groups=[(new, None)],
            mode=Transfer.Mode.ALL,
            deactivate=deactivate_old_user,
            request_key=request_key,
            progress=progress or ProgressHook(),
        )

    return _run(work, dry_run=dry_run)


def records_transfer_per_client(
    *,
    acting_user: User,
    old_user: User | int,
    assignments: Mapping[int, User | int],
    deactivate_old_user: bool = False,
    expected_client_ids: Collection[int] | None = None,
    request_key: str | None = None,
    dry_run: bool = False,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | None:
    """Transfer, client by client, what `old_user` holds to the client's new
    user ("User Transfer"): the client if they own it, their matters and
    cases under it, and their shares within it. `assignments` maps every
    linked client id to its new user; `expected_client_ids` is the list of
    linked clients the caller showed (stale_form when it changed since).
    `validate_only` and `progress`: as for records_transfer_all.
    """
    _check_permission(acting_user)
    if (replayed := _replay(request_key)) is not None:
        return replayed
    old_id = _user_id(old_user, code="old_user_unknown", field=None)
    try:
        plan = {int(client_id): target for client_id, target in assignments.items()}
    except (TypeError, ValueError):
        raise TransferRefused(
            "client_not_linked",
            "The assignments name a client that does not exist.",
            field=FIELD_ASSIGNMENTS,
        ) from None
    new_ids: dict[int, int] = {}
    for client_id, target in plan.items():
        try:
            new_ids[client_id] = _user_id(target, code="new_user_unknown", field=FIELD_ASSIGNMENTS)
        except TransferRefused as refusal:
            refusal.client_ids = [client_id]
            raise

    def work() -> TransferResult | None:
        users = _lock_users({old_id, *new_ids.values()})
        if (replayed := _replay(request_key)) is not None:
            return replayed
        if old_id not in users:
            raise TransferRefused("old_user_unknown")
        unknown = [client_id for client_id, user_id in new_ids.items() if user_id not in users]
        if unknown:
            raise TransferRefused("new_user_unknown", field=FIELD_ASSIGNMENTS, client_ids=unknown)
        old = users[old_id]
        _check_active_jobs(old=old, request_key=request_key)
        client_ids_by_user: dict[int, list[int]] = {}
        for client_id, user_id in sorted(new_ids.items()):
            client_ids_by_user.setdefault(user_id, []).append(client_id)
        receivers = {user_id: users[user_id] for user_id in sorted(client_ids_by_user)}
        _validate_receivers(old=old, receivers=receivers, client_ids_by_user=client_ids_by_user)
        linked = linked_client_ids(user=old)
        if expected_client_ids is not None and {int(pk) for pk in expected_client_ids} != linked:
            raise TransferRefused("stale_form", old=old.full_name)
        not_linked = set(new_ids) - linked
        if not_linked:
            raise TransferRefused(
                "client_not_linked",
                field=FIELD_ASSIGNMENTS,
                client_ids=not_linked,
                count=len(not_linked),
                old=old.full_name,
            )
        unassigned = linked - set(new_ids)
        if unassigned:
            raise TransferRefused(
                "client_unassigned",
                field=FIELD_ASSIGNMENTS,
                client_ids=unassigned,
                count=len(unassigned),
            )
        if deactivate_old_user:
            _check_deactivation(old=old, acting_user=acting_user)
        if not linked and not deactivate_old_user:
            raise TransferRefused("nothing_to_transfer", old=old.full_name)
        if validate_only:
            return None
        return _record_transfer(
            acting_user=acting_user,
            old=old,
            groups=[(receivers[user_id], ids) for user_id, ids in client_ids_by_user.items()],
            mode=Transfer.Mode.PER_CLIENT,
            deactivate=deactivate_old_user,
            request_key=request_key,
            progress=progress or ProgressHook(),
        )

    return _run(work, dry_run=dry_run)


# --- revert -----------------------------------------------------------------


def _revert_owned(
    *, revert_id: int, original_id: int, record_type: str, model: type[Model], now
) -> int:
    """Move back the records of one type still owned by the user they went to."""
    rows = _table(TransferredRecord)
    record = _table(model)
    col = partial(_column, TransferredRecord)
    audited = _execute(
        _audit_insert_prefix()
        + f"SELECT %s, r.{col('record_type')}, r.{col('record_id')}, NULL, %s, "
        + f"r.{col('to_user')}, r.{col('from_user')} FROM {rows} r "
        + f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        + f"AND r.{col('from_user')} IS NOT NULL AND EXISTS (SELECT 1 FROM {record} m "
        + f"WHERE m.{_column(model, 'id')} = r.{col('record_id')} "
        + f"AND m.{_column(model, 'owner')} = r.{col('to_user')})",
        [revert_id, False, original_id, record_type],
    )
    # One UPDATE per owner the records go back to (one: the user the transfer took them
    # from), each reading the revert's own rows. No lookup per record, whose plan would
    # depend on the receipts' statistics already knowing those rows (a Transfer All's
    # revert ran for minutes when they did not), and the ids in order, so that rows are
    # updated in the order they lie in the table: half the time of a hashed order.
    back_to = TransferredRecord.objects.filter(transfer_id=revert_id, record_type=record_type)
    moved = 0
    for owner_id in back_to.order_by().values_list("to_user_id", flat=True).distinct():
        ids = RawSQL(
            f"SELECT DISTINCT r.{col('record_id')} FROM {rows} r WHERE r.{col('transfer')} = %s "
            f"AND r.{col('record_type')} = %s AND r.{col('to_user')} = %s "
            f"ORDER BY r.{col('record_id')}",
            [revert_id, record_type, owner_id],
        )
        moved += model.objects.filter(pk__in=ids).update(owner_id=owner_id, updated_at=now)
    if audited != moved:
        raise TransferIntegrityError(f"{audited} {record_type} rows for {moved} records reverted")
    return moved


def _revert_shares(
    *, revert_id: int, original_id: int, record_type: str, share_model: type[Model]
) -> int:
    """Give back the shares of one type still held by the user they went to.

    The receiving user loses the share unless they held it before the
    transfer (`share_merged`); the giving user gets it back unless they hold
    it again already (then the revert's row is marked `share_merged`).
    """
    rows = _table(TransferredRecord)
    table = _table(share_model)
    user = _column(share_model, "user")
    shared = _column(share_model, "content_object")
    permission = _column(share_model, "permission")
    col = partial(_column, TransferredRecord)

    def holds(alias: str, user_column: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.{user} = r.{col(user_column)} "
            f"AND {alias}.{shared} = r.{col('record_id')} "
            f"AND {alias}.{permission} = r.{col('permission')})"
        )

    audited = _execute(
        _audit_insert_prefix()
        + f"SELECT %s, r.{col('record_type')}, r.{col('record_id')}, r.{col('permission')}, "
        + f"{holds('a', 'from_user')}, r.{col('to_user')}, r.{col('from_user')} FROM {rows} r "
        + f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        + f"AND r.{col('from_user')} IS NOT NULL AND {holds('b', 'to_user')}",
        [revert_id, original_id, record_type],
    )
    if not audited:
        return 0
    _execute(
        f"INSERT INTO {table} ({shared}, {permission}, {user}) "
        f"SELECT r.{col('record_id')}, r.{col('permission')}, r.{col('to_user')} FROM {rows} r "
        f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        f"AND r.{col('share_merged')} = %s",
        [revert_id, record_type, False],
    )
    _execute(
        f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {rows} r "
        f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        f"AND r.{col('share_merged')} = %s AND r.{col('to_user')} = {table}.{user} "
        f"AND r.{col('record_id')} = {table}.{shared} "
        f"AND r.{col('permission')} = {table}.{permission}) "
        f"AND EXISTS (SELECT 1 FROM {rows} n WHERE n.{col('transfer')} = %s "
        f"AND n.{col('record_type')} = %s AND n.{col('from_user')} = {table}.{user} "
        f"AND n.{col('record_id')} = {table}.{shared} "
        f"AND n.{col('permission')} = {table}.{permission})",
        [original_id, record_type, False, revert_id, record_type],
    )
    return audited


def transfer_revert(
    *,
    acting_user: User,
    transfer: Transfer | int,
    request_key: str | None = None,
    validate_only: bool = False,
    progress: ProgressHook | None = None,
) -> TransferResult | None:
    """Revert `transfer`: every record still owned by the user it went to goes
    back, the others (changed since) are left alone and counted in
    `skipped_count` (listed by selectors.revert_skipped_records), shares go
    back likewise, and the old user is reactivated if `transfer` deactivated
    them. Recorded as a Transfer of mode REVERT, returned as a TransferResult
    (`replayed` for a `request_key` saved before). `validate_only` and
    `progress`: as for records_transfer_all."""
    _check_permission(acting_user)
    if (replayed := _replay(request_key)) is not None:
        return replayed
    transfer_id = transfer.pk if isinstance(transfer, Transfer) else int(transfer)

    def work() -> TransferResult:
        original = Transfer.objects.select_for_update().filter(pk=transfer_id).first()
        if original is None:
            raise TransferRefused("revert_not_allowed", reason="it no longer exists.")
        if (replayed := _replay(request_key)) is not None:
            return replayed
        pairs = TransferredRecord.objects.filter(transfer=original).order_by()
        pairs = pairs.values_list("from_user_id", "to_user_id").distinct()
        user_ids = {original.from_user_id, *(pk for pair in pairs for pk in pair)} - {None}
        users = _lock_users(user_ids)
        refusal = transfer_revert_refusal(transfer=original)
        if refusal is not None:
            raise refusal
        if original.from_user_id in users:
            _check_active_jobs(old=users[original.from_user_id], request_key=request_key)
        if validate_only:
            return None
        hook = progress or ProgressHook()
        old = users[original.from_user_id]
        now = timezone.now()
        revert = Transfer.objects.create(
            created_at=now,
            mode=Transfer.Mode.REVERT,
            actor=acting_user,
            actor_name=acting_user.full_name,
            from_user=old,
            from_user_name=old.full_name,
            reverted_transfer=original,
            request_key=request_key or None,
        )
        if original.deactivated_from_user and not old.is_active:
            _reactivate(user=old, acting_user=acting_user, transfer_id=revert.pk)
            fault_point("reactivate", user_id=old.pk)
            revert.reactivated_user = True
        moved = 0
        for record_type, model, _client_field in RECORD_STEPS:
            hook.started(PHASES[record_type])
            rows = _revert_owned(
                revert_id=revert.pk,
                original_id=original.pk,
                record_type=record_type,
                model=model,
                now=now,
            )
            fault_point("revert_owned", record_type=record_type, rows=rows)
            hook.moved(COUNT_FIELDS[record_type], rows)
            moved += rows
        hook.started("shares")
        for record_type, share_model, _record_model in SHARE_STEPS:
            rows = _revert_shares(
                revert_id=revert.pk,
                original_id=original.pk,
                record_type=record_type,
                share_model=share_model,
            )
            fault_point("revert_shares", record_type=record_type, rows=rows)
            hook.moved("share_count", rows)
            moved += rows
        if not moved and not revert.reactivated_user:
            raise TransferRefused(
                "nothing_to_transfer",
                "Everything this transfer moved has changed since: there is nothing to revert.",
            )
        hook.started("receipt")
        recipients: dict[int, TransferRecipient] = {}
        totals = (
            TransferredRecord.objects.filter(transfer=revert)
            .order_by()
            .values_list("to_user_id", "record_type")
            .annotate(total=Count("pk"))
        )
        for user_id, record_type, total in totals:
            recipient = recipients.setdefault(
                user_id,
                TransferRecipient(
                    transfer=revert, to_user=users[user_id], to_user_name=users[user_id].full_name
                ),
            )
            count = COUNT_FIELDS[record_type]
            setattr(recipient, count, getattr(recipient, count) + total)
        revert.skipped_count = original.records.count() - moved
        _save_tally(revert, list(recipients.values()), "reactivated_user", "skipped_count")
        _notify_after_commit(revert.pk)
        return TransferResult(revert, recipients=tuple(recipients.values()))

    return _run(work, dry_run=False)
