"""What is due, for whoever took it over: the open deadlines a transfer gave
each new owner that fall due in the next two weeks, overdue first, shown on
the receipt and in each new owner's e-mail."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone

from clients.models import Deadline
from transfers.models import Transfer, TransferredRecord

DUE_SOON_DAYS = 14
# More than this for one new user and the receipt says how many more (the grid has them all).
DUE_SOON_LISTED = 50


@dataclass(frozen=True)
class DueSoon:
    deadline: Deadline
    overdue: bool


def deadlines_due_soon(
    *, transfer: Transfer, today: datetime.date | None = None
) -> dict[int, list[DueSoon]]:
    """For each new owner (user id) of `transfer`: the open deadlines it gave
    them that they still own and that are due by `today` + 14 days (the firm's
    date), overdue first, then by due date and time. One query."""
    today = today or timezone.localdate()
    moved = TransferredRecord.objects.filter(transfer=transfer, record_type="deadline")
    due = (
        Deadline.objects.filter(
            pk__in=moved.values("record_id"),
            status=Deadline.Status.OPEN,
            due_date__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
        )
        .select_related("matter", "client")
        .order_by("due_date", "due_time", "pk")
    )
    by_owner: dict[int, list[DueSoon]] = defaultdict(list)
    for deadline in due[: DUE_SOON_LISTED * max(1, transfer.recipients.count())]:
        by_owner[deadline.owner_id].append(DueSoon(deadline, deadline.is_overdue(today)))
    return dict(by_owner)
