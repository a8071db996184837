"""The set-based moves of a revert: every record (and share) of a transfer
still with the user it went to goes back, the rest is left alone; the shares
it revoked are given back."""

from functools import partial

from django.db.models.expressions import RawSQL

from clients.record_types import RecordType
from transfers.engine.result import TransferIntegrityError
from transfers.engine.sql import column, execute, receipt_insert, table
from transfers.models import TransferredRecord


def owned_revert(*, revert_id: int, original_id: int, record_type: RecordType, now) -> int:
    """Move back the records of one type still owned by the user they went to."""
    model = record_type.model
    rows = table(TransferredRecord)
    records = table(model)
    col = partial(column, TransferredRecord)
    audited = execute(
        receipt_insert()
        + f"SELECT %s, r.{col('record_type')}, r.{col('record_id')}, NULL, %s, "
        + f"r.{col('to_user')}, r.{col('from_user')} FROM {rows} r "
        + f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        + f"AND r.{col('from_user')} IS NOT NULL AND EXISTS (SELECT 1 FROM {records} m "
        + f"WHERE m.{column(model, 'id')} = r.{col('record_id')} "
        + f"AND m.{column(model, 'owner')} = r.{col('to_user')})",
        [revert_id, False, original_id, record_type.name],
    )
    # One UPDATE per owner the records go back to (one: the user the transfer took them
    # from), each reading the revert's own rows. No lookup per record, whose plan would
    # depend on the receipts' statistics already knowing those rows (a Transfer All's
    # revert ran for minutes when they did not), and the ids in order, so that rows are
    # updated in the order they lie in the table: half the time of a hashed order.
    back_to = TransferredRecord.objects.filter(transfer_id=revert_id, record_type=record_type.name)
    moved = 0
    for owner_id in back_to.order_by().values_list("to_user_id", flat=True).distinct():
        ids = RawSQL(
            f"SELECT DISTINCT r.{col('record_id')} FROM {rows} r WHERE r.{col('transfer')} = %s "
            f"AND r.{col('record_type')} = %s AND r.{col('to_user')} = %s "
            f"ORDER BY r.{col('record_id')}",
            [revert_id, record_type.name, owner_id],
        )
        moved += model.objects.filter(pk__in=ids).update(owner_id=owner_id, updated_at=now)
    if audited != moved:
        raise TransferIntegrityError(
            f"{audited} {record_type.name} rows for {moved} records reverted"
        )
    return moved


def shares_revert(*, revert_id: int, original_id: int, record_type: RecordType) -> int:
    """Give back the shares of one type still held by the user they went to.

    The receiving user loses the share unless they held it before the
    transfer (`share_merged`); the giving user gets it back unless they hold
    it again already (then the revert's row is marked `share_merged`).
    """
    share_model = record_type.user_share_model
    rows = table(TransferredRecord)
    shares = table(share_model)
    user = column(share_model, "user")
    shared = column(share_model, "content_object")
    permission = column(share_model, "permission")
    col = partial(column, TransferredRecord)

    def holds(user_column: str) -> str:
        """Whether the user in the receipt row's `user_column` holds its share."""
        alias = f"{user_column}_share"  # pragma: no mutate (any alias names it alike)
        return (
            f"EXISTS (SELECT 1 FROM {shares} {alias} WHERE {alias}.{user} = r.{col(user_column)} "
            f"AND {alias}.{shared} = r.{col('record_id')} "
            f"AND {alias}.{permission} = r.{col('permission')})"
        )

    audited = execute(
        receipt_insert()
        + f"SELECT %s, r.{col('record_type')}, r.{col('record_id')}, r.{col('permission')}, "
        + f"{holds('from_user')}, r.{col('to_user')}, r.{col('from_user')} FROM {rows} r "
        + f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        + f"AND r.{col('share_revoked')} = %s "
        + f"AND r.{col('from_user')} IS NOT NULL AND {holds('to_user')}",
        [revert_id, original_id, record_type.share_name, False],
    )
    if not audited:
        return 0
    execute(
        f"INSERT INTO {shares} ({shared}, {permission}, {user}) "
        f"SELECT r.{col('record_id')}, r.{col('permission')}, r.{col('to_user')} FROM {rows} r "
        f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        f"AND r.{col('share_merged')} = %s AND r.{col('share_revoked')} = %s",
        [revert_id, record_type.share_name, False, False],
    )
    execute(
        f"DELETE FROM {shares} WHERE EXISTS (SELECT 1 FROM {rows} r "
        f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        f"AND r.{col('share_merged')} = %s AND r.{col('to_user')} = {shares}.{user} "
        f"AND r.{col('record_id')} = {shares}.{shared} "
        f"AND r.{col('permission')} = {shares}.{permission}) "
        f"AND EXISTS (SELECT 1 FROM {rows} n WHERE n.{col('transfer')} = %s "
        f"AND n.{col('record_type')} = %s AND n.{col('from_user')} = {shares}.{user} "
        f"AND n.{col('record_id')} = {shares}.{shared} "
        f"AND n.{col('permission')} = {shares}.{permission})",
        [original_id, record_type.share_name, False, revert_id, record_type.share_name],
    )
    return audited


def shares_restore(*, revert_id: int, original_id: int, record_type: RecordType) -> int:
    """Give back the shares of one type that transfer `original_id` revoked
    (`share_revoked`), on records that still exist: two statements whatever their number.

    The revert's row is marked `share_revoked` too (given back: from nobody to
    the old user), and `share_merged` when the old user holds the share again
    already; that share is left as it is, so nothing is granted twice.
    """
    share_model = record_type.user_share_model
    model = record_type.model
    rows = table(TransferredRecord)
    shares = table(share_model)
    user = column(share_model, "user")
    shared = column(share_model, "content_object")
    permission = column(share_model, "permission")
    col = partial(column, TransferredRecord)
    held_again = (
        f"EXISTS (SELECT 1 FROM {shares} a WHERE a.{user} = r.{col('from_user')} "
        f"AND a.{shared} = r.{col('record_id')} AND a.{permission} = r.{col('permission')})"
    )
    audited = execute(
        receipt_insert("share_revoked")
        + f"SELECT %s, r.{col('record_type')}, r.{col('record_id')}, r.{col('permission')}, "
        + f"{held_again}, NULL, r.{col('from_user')}, %s FROM {rows} r "
        + f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        + f"AND r.{col('share_revoked')} = %s AND r.{col('from_user')} IS NOT NULL "
        + f"AND EXISTS (SELECT 1 FROM {table(model)} m "
        + f"WHERE m.{column(model, 'id')} = r.{col('record_id')})",
        [revert_id, True, original_id, record_type.share_name, True],
    )
    if not audited:
        return 0
    execute(
        f"INSERT INTO {shares} ({shared}, {permission}, {user}) "
        f"SELECT r.{col('record_id')}, r.{col('permission')}, r.{col('to_user')} FROM {rows} r "
        f"WHERE r.{col('transfer')} = %s AND r.{col('record_type')} = %s "
        f"AND r.{col('share_revoked')} = %s AND r.{col('share_merged')} = %s",
        [revert_id, record_type.share_name, True, False],
    )
    return audited
