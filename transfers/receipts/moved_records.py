"""The records a transfer moved, for the grids' "moved by transfer #N" filter.

Registered as the clients app's reader (TransfersConfig.ready), so each count
on a receipt links to a grid showing exactly those records, while the clients
app knows nothing of receipts."""

from django.db.models import Model, QuerySet

from clients.record_types import record_type_of
from transfers.models import TransferredRecord


def moved_record_ids(
    *, model: type[Model], transfer_id: int, to_user_id: int | None = None
) -> QuerySet:
    """The ids of the records of `model` transfer #`transfer_id` moved (to
    `to_user_id`, when given): its receipt rows of that type, found through
    the receipt's `moved_by_transfer` index (transfer, record type)."""
    rows = TransferredRecord.objects.filter(
        transfer_id=transfer_id, record_type=record_type_of(model).name
    )
    if to_user_id is not None:
        rows = rows.filter(to_user_id=to_user_id)
    return rows.order_by().values("record_id")
