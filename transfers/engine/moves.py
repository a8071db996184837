"""The set-based moves of one transfer: per record type one INSERT ... SELECT of
the receipt rows and one UPDATE of the owners, then the old user's explicit
shares, so the number of queries never depends on the number of records.

Shares. The old user's share rows are re-pointed at the new user. When the
new user already holds the same share, the old user's row is deleted instead
and the receipt row is marked `share_merged`; a revert gives the share back
to the old user and leaves the new user's own one alone. A share on a record
the new user now owns is kept: it is harmless (ownership already grants
access) and keeping it makes a revert exact.

Revoked shares. A transfer that deactivates the old user leaves them no share
either: those it did not move (outside the clients it moved) are deleted, each
with a receipt row marked `share_revoked` (and no new user), so the receipt
lists them and a revert gives them back.
"""

from collections.abc import Collection
from functools import partial

from django.db.models import Model

from clients.record_types import RECORD_TYPES, SHARES, RecordCounts, RecordType
from transfers.engine import faults
from transfers.engine.progress import ProgressHook
from transfers.engine.result import TransferIntegrityError
from transfers.engine.sql import column, execute, in_ids, receipt_insert, table
from transfers.models import TransferredRecord


def _owned_receipt_rows(
    *,
    transfer_id: int,
    record_type: RecordType,
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
) -> int:
    """Receipt rows for the records of `record_type` that are about to move."""
    model = record_type.model
    records = table(model)
    where = f"{records}.{column(model, 'owner')} = %s"
    params: list = [transfer_id, record_type.name, False, old_id, new_id, old_id]
    if client_ids is not None:
        scope, scope_params = in_ids(
            f"{records}.{column(model, record_type.client_field)}", client_ids
        )
        where += f" AND {scope}"
        params += scope_params
    sql = (
        receipt_insert()
        + f"SELECT %s, %s, {records}.{column(model, 'id')}, NULL, %s, %s, %s "
        + f"FROM {records} WHERE {where}"
    )
    return execute(sql, params)


def _owned_move(
    *, record_type: RecordType, old_id: int, new_id: int, client_ids: Collection[int] | None, now
) -> int:
    records = record_type.model.objects.filter(owner_id=old_id)
    if client_ids is not None:
        field = record_type.client_field
        lookup = "pk__in" if field == "id" else f"{field}_id__in"
        records = records.filter(**{lookup: list(client_ids)})
    return records.update(owner_id=new_id, updated_at=now)


def _share_scope(record_type: RecordType, client_ids: Collection[int] | None) -> tuple[str, list]:
    if client_ids is None:
        return "", []
    share_model = record_type.user_share_model
    record_model = record_type.model
    shared = f"{table(share_model)}.{column(share_model, 'content_object')}"
    if not record_type.under_client:
        scope, params = in_ids(shared, client_ids)
    else:
        inner, params = in_ids(column(record_model, record_type.client_field), client_ids)
        scope = (
            f"{shared} IN (SELECT {column(record_model, 'id')} "
            f"FROM {table(record_model)} WHERE {inner})"
        )
    return f" AND {scope}", params


def _shares_move(
    *,
    transfer_id: int,
    record_type: RecordType,
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
) -> int:
    """Move the old user's shares of one type to the new user, de-duplicated."""
    share_model: type[Model] = record_type.user_share_model
    shares = table(share_model)
    user = column(share_model, "user")
    shared = column(share_model, "content_object")
    permission = column(share_model, "permission")
    scope, scope_params = _share_scope(record_type, client_ids)
    held_by_new = (
        f"EXISTS (SELECT 1 FROM {shares} held WHERE held.{user} = %s "
        f"AND held.{shared} = {shares}.{shared} AND held.{permission} = {shares}.{permission})"
    )
    audited = execute(
        receipt_insert()
        + f"SELECT %s, %s, {shares}.{shared}, {shares}.{permission}, {held_by_new}, %s, %s "
        + f"FROM {shares} WHERE {shares}.{user} = %s{scope}",
        [transfer_id, record_type.share_name, new_id, old_id, new_id, old_id, *scope_params],
    )
    if not audited:
        return 0
    execute(
        f"DELETE FROM {shares} WHERE {shares}.{user} = %s{scope} AND {held_by_new}",
        [old_id, *scope_params, new_id],
    )
    execute(
        f"UPDATE {shares} SET {user} = %s WHERE {shares}.{user} = %s{scope}",
        [new_id, old_id, *scope_params],
    )
    return audited


def shares_revoke(*, transfer_id: int, old_id: int) -> int:
    """Revoke every explicit share `old_id` still holds, writing the receipt rows
    of `transfer_id`: one statement for the receipt rows of every type, then,
    when there are any, one per type for the shares, whatever their number."""
    selects, params = [], []
    for record_type in RECORD_TYPES:
        share_model: type[Model] = record_type.user_share_model
        shares = table(share_model)
        # A typed NULL: in a UNION, PostgreSQL would read a bare one as text.
        selects.append(
            f"SELECT %s, %s, {shares}.{column(share_model, 'content_object')}, "
            f"{shares}.{column(share_model, 'permission')}, %s, %s, CAST(NULL AS BIGINT), %s "
            f"FROM {shares} WHERE {shares}.{column(share_model, 'user')} = %s"
        )
        params += [transfer_id, record_type.share_name, False, old_id, True, old_id]
    union = " UNION ALL ".join(selects)  # pragma: no mutate (SQL keywords' case)
    revoked = execute(receipt_insert("share_revoked") + union, params)
    if revoked:
        _revoked_delete(transfer_id=transfer_id, old_id=old_id)
    faults.fault_point("revoke_shares", rows=revoked)
    return revoked


def _revoked_delete(*, transfer_id: int, old_id: int) -> None:
    """Delete the shares of `old_id` that transfer `transfer_id`'s receipt marks revoked."""
    rows = table(TransferredRecord)
    col = partial(column, TransferredRecord)
    for record_type in RECORD_TYPES:
        share_model = record_type.user_share_model
        shares = table(share_model)
        user = column(share_model, "user")
        # Exactly the shares the receipt names, whatever another transaction did
        # between the two statements. (A share granted meanwhile waits anyway: its
        # foreign key check needs the user row this transfer holds locked.)
        execute(
            f"DELETE FROM {shares} WHERE {shares}.{user} = %s AND EXISTS (SELECT 1 "
            f"FROM {rows} r WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
            f"AND r.{col('record_id')} = {shares}.{column(share_model, 'content_object')} "
            f"AND r.{col('permission')} = {shares}.{column(share_model, 'permission')} "
            f"AND r.{col('share_revoked')} = %s)",
            [old_id, transfer_id, record_type.share_name, True],
        )


def records_move(
    *,
    transfer_id: int,
    old_id: int,
    new_id: int,
    client_ids: Collection[int] | None,
    now,
    progress: ProgressHook,
) -> RecordCounts:
    """Move what `old_id` holds (within `client_ids`, or everything) to `new_id`,
    writing the receipt rows of `transfer_id`; what moved, per record type."""
    counts = RecordCounts()
    for record_type in RECORD_TYPES:
        progress.started(record_type.plural)
        audited = _owned_receipt_rows(
            transfer_id=transfer_id,
            record_type=record_type,
            old_id=old_id,
            new_id=new_id,
            client_ids=client_ids,
        )
        faults.fault_point("audit_owned", record_type=record_type.name, rows=audited)
        moved = _owned_move(
            record_type=record_type, old_id=old_id, new_id=new_id, client_ids=client_ids, now=now
        )
        faults.fault_point("move_owned", record_type=record_type.name, rows=moved)
        if audited != moved:
            raise TransferIntegrityError(
                f"{audited} {record_type.name} receipt rows for {moved} records moved"
            )
        counts = counts.added(record_type.name, moved)
        progress.moved(record_type.name, moved)
    progress.started(SHARES)
    for record_type in RECORD_TYPES:
        shares = _shares_move(
            transfer_id=transfer_id,
            record_type=record_type,
            old_id=old_id,
            new_id=new_id,
            client_ids=client_ids,
        )
        faults.fault_point("move_shares", record_type=record_type.share_name, rows=shares)
        counts = counts.added(SHARES, shares)
        progress.moved(SHARES, shares)
    return counts
