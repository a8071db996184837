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
from transfers.models import Transfer, TransferRecipient, TransferredRecord

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
    another's.

    Two queries: the first ranks the candidates on their ids, dates and owners
    alone, reading the deadlines of the transfer's new owners (not one index
    look-up per record it moved); the second reads the listed ones whole, with
    their matters and clients. A Transfer All of 250,000 deadlines, 70,000 of
    them due soon, would otherwise join and sort all 70,000 whole rows."""
    today = today or timezone.localdate()
    moved = TransferredRecord.objects.filter(transfer=transfer, record_type="deadline")
    new_owners = TransferRecipient.objects.filter(transfer=transfer).values("to_user_id")
    order = [F("due_date").asc(), F("due_time").asc(nulls_last=True), F("pk").asc()]
    per_owner = {"partition_by": [F("owner_id")]}
    listed = (
        Deadline.objects.filter(
            owner_id__in=new_owners,
            pk__in=moved.values("record_id"),
            status=Deadline.Status.OPEN,
            due_date__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
        )
        .annotate(
            due_rank=Window(RowNumber(), order_by=order, **per_owner),
            due_total=Window(Count("pk"), **per_owner),
        )
        .filter(due_rank__lte=DUE_SOON_LISTED)
        .order_by()
        .values_list("pk", "due_total")
    )
    totals = dict(listed)
    if not totals:
        return {}
    due = Deadline.objects.filter(pk__in=totals).select_related("matter", "client")
    by_owner: dict[int, DueSoonList] = {}
    for deadline in due.order_by(*order):
        due_list = by_owner.setdefault(deadline.owner_id, DueSoonList(total=totals[deadline.pk]))
        due_list.items.append(DueSoon(deadline, deadline.is_overdue(today)))
    return by_owner


def all_open_received_url(transfer: Transfer, user_id: int) -> str:
    """The Deadlines grid (sorted by due date) with every open deadline `transfer` gave
    `user_id`: where the ones beyond a due-soon list are."""
    query = {"transfer": transfer.pk, "to": user_id, "status": Deadline.Status.OPEN}
    return f"{reverse('clients:deadline_list')}?{urlencode(query)}"
