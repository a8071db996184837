"""What is due, for whoever took it over: the open deadlines a transfer gave
each new owner that fall due in the next two weeks, overdue first, shown on
the receipt and in each new owner's e-mail."""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from clients.models import Deadline
from transfers.models import Transfer, TransferredRecord

DUE_SOON_DAYS = 14
# More than this for one new user and the list says how many more, with a link to them all.
DUE_SOON_LISTED = 50


@dataclass(frozen=True)
class DueSoon:
    deadline: Deadline
    overdue: bool


@dataclass
class DueSoonList:
    """One new owner's open deadlines due soon: the first DUE_SOON_LISTED of `total`."""

    items: list[DueSoon] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self):
        return iter(self.items)


def deadlines_due_soon(
    *, transfer: Transfer, today: datetime.date | None = None
) -> dict[int, DueSoonList]:
    """For each new owner (user id) of `transfer`: the open deadlines it gave
    them that they still own and that are due by `today` + 14 days (the firm's
    date), overdue first, then by due date and time; at most DUE_SOON_LISTED
    each, counted per owner so that one owner's long list never crowds out
    another's. One query."""
    today = today or timezone.localdate()
    moved = TransferredRecord.objects.filter(transfer=transfer, record_type="deadline")
    order = [F("due_date").asc(), F("due_time").asc(nulls_last=True), F("pk").asc()]
    per_owner = {"partition_by": [F("owner_id")]}
    due = (
        Deadline.objects.filter(
            pk__in=moved.values("record_id"),
            status=Deadline.Status.OPEN,
            due_date__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
        )
        .annotate(
            due_rank=Window(RowNumber(), order_by=order, **per_owner),
            due_total=Window(Count("pk"), **per_owner),
        )
        .filter(due_rank__lte=DUE_SOON_LISTED)
        .select_related("matter", "client")
        .order_by(*order)
    )
    by_owner: dict[int, DueSoonList] = {}
    for deadline in due:
        listed = by_owner.setdefault(deadline.owner_id, DueSoonList(total=deadline.due_total))
        listed.items.append(DueSoon(deadline, deadline.is_overdue(today)))
    return by_owner


def all_open_received_url(transfer: Transfer, user_id: int) -> str:
    """The Deadlines grid (sorted by due date) with every open deadline `transfer` gave
    `user_id`: where the ones beyond a due-soon list are."""
    query = {"transfer": transfer.pk, "to": user_id, "status": Deadline.Status.OPEN}
    return f"{reverse('clients:deadline_list')}?{urlencode(query)}"
