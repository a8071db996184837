"""Reads for transfers: what a user holds, which clients they are linked to,
receipts, and whether a transfer can still be reverted."""

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from clients.models import OWNER_ERRORS, Client
from clients.record_types import RECORD_TYPES
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from users.models import TRANSFER_RECORDS_PERMISSION, User
from users.selectors import allowed_owners, with_workload

# Display order of the receipt: records before shares, outermost first.
RECORD_TYPE_ORDER = [record_type.name for record_type in RECORD_TYPES] + [
    record_type.share_name for record_type in RECORD_TYPES
]


@dataclass(frozen=True)
class Holdings:
    clients: int
    matters: int
    cases: int
    shares: int

    @property
    def records(self) -> int:
        return self.clients + self.matters + self.cases

    @property
    def total(self) -> int:
        return self.records + self.shares


def _count(queryset: QuerySet) -> Coalesce:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY)."""
    # COUNT(*) rather than COUNT(id): PostgreSQL can then answer from the
    # owner index alone instead of visiting every row of a large owner.
    counted = (
        queryset.order_by()
        .annotate(total=Func(template="COUNT(*)", output_field=IntegerField()))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def user_holdings(*, user: User | int) -> Holdings:
    """How many clients, matters and cases `user` owns and how many explicit
    (user) shares they hold, in one query."""
    user_id = getattr(user, "pk", user)
    counted = {}
    for record_type in RECORD_TYPES:
        counted[record_type.name] = _count(record_type.model.objects.filter(owner_id=user_id))
        counted[record_type.share_name] = _count(
            record_type.user_share_model.objects.filter(user_id=user_id)
        )
    row = User.objects.filter(pk=user_id).annotate(**counted).values(*counted).first()
    if row is None:
        return Holdings(0, 0, 0, 0)
    return Holdings(
        **{record_type.plural: row[record_type.name] for record_type in RECORD_TYPES},
        shares=sum(row[record_type.share_name] for record_type in RECORD_TYPES),
    )


def linked_clients(*, user: User | int) -> QuerySet[Client]:
    """Clients `user` owns or owns matters or cases under, as one query.

    Each client is annotated with `owned_by_user` (bool), `held_matter_count`
    and `held_case_count` (what the user owns under it), ordered by name and
    number.
    """
    user_id = getattr(user, "pk", user)
    linked = Q(owner_id=user_id)
    held_under = {}
    for record_type in RECORD_TYPES:
        if not record_type.under_client:
            continue
        client_id = f"{record_type.client_field}_id"
        owned = record_type.model.objects.filter(owner_id=user_id)
        linked |= Q(pk__in=owned.values(client_id))
        held_under[f"held_{record_type.count_field}"] = _count(
            owned.filter(**{client_id: OuterRef("pk")})
        )
    return (
        Client.objects.filter(linked)
        .annotate(
            owned_by_user=ExpressionWrapper(Q(owner_id=user_id), output_field=BooleanField()),
            **held_under,
        )
        .select_related("owner")
        .order_by("name", "number")
    )


def linked_client_ids(*, user: User | int) -> set[int]:
    return set(linked_clients(user=user).values_list("pk", flat=True))


def _record_field(field_of) -> Case:
    """The value of `field_of(record type)` on each receipt row's record (or
    shared record); empty when it has been deleted since."""
    whens = []
    for record_type in RECORD_TYPES:
        field = field_of(record_type)
        value = Subquery(
            record_type.model.objects.filter(pk=OuterRef("record_id")).values(field)[:1]
        )
        for receipt_type in (record_type.name, record_type.share_name):
            whens.append(When(record_type=receipt_type, then=value))
    return Case(*whens, default=Value(""), output_field=CharField())


def _current_owner() -> Case:
    whens = [
        When(
            record_type=record_type.name,
            then=Subquery(
                record_type.model.objects.filter(pk=OuterRef("record_id")).values("owner_id")[:1]
            ),
        )
        for record_type in RECORD_TYPES
    ]
    return Case(*whens, default=Value(None), output_field=IntegerField())


def transfer_records(*, transfer: Transfer, record_type: str | None = None) -> QuerySet:
    """The rows of a receipt, clients first, then matters, cases and shares.

    Each row is annotated with `record_number` and `record_label` (empty
    when the record has been deleted since) and, for clients, matters and
    cases, `current_owner_id`.
    """
    rows = TransferredRecord.objects.filter(transfer=transfer)
    if record_type:
        rows = rows.filter(record_type=record_type)
    type_order = Case(
        *[When(record_type=value, then=Value(i)) for i, value in enumerate(RECORD_TYPE_ORDER)],
        output_field=IntegerField(),
    )
    return (
        rows.select_related("from_user", "to_user", "permission")
        .annotate(
            type_order=type_order,
            record_number=_record_field(lambda record_type: "number"),
            record_label=_record_field(lambda record_type: record_type.label_field),
            current_owner_id=_current_owner(),
        )
        .order_by("type_order", "record_id", "pk")
    )


def _still_with_receiver_q() -> Q:
    """Receipt rows whose record (or share) is still with the user it went to."""
    q = Q()
    for record_type in RECORD_TYPES:
        q |= Q(record_type=record_type.name) & Q(
            Exists(
                record_type.model.objects.filter(
                    pk=OuterRef("record_id"), owner_id=OuterRef("to_user_id")
                )
            )
        )
    for record_type in RECORD_TYPES:
        q |= Q(record_type=record_type.share_name) & Q(
            Exists(
                record_type.user_share_model.objects.filter(
                    content_object_id=OuterRef("record_id"),
                    permission_id=OuterRef("permission_id"),
                    user_id=OuterRef("to_user_id"),
                )
            )
        )
    return q


def transfer_changed_since(*, transfer: Transfer) -> QuerySet:
    """Receipt rows of `transfer` whose record (or share) is no longer with the
    user it went to: what a revert would leave alone. Live: it follows later
    changes."""
    return transfer_records(transfer=transfer).exclude(_still_with_receiver_q())


def revert_skipped_records(*, revert: Transfer) -> QuerySet:
    """For a revert: the rows of the reverted transfer it left alone because
    they had changed since. Fixed at the time of the revert (the revert's own
    rows say what moved back)."""
    if revert.reverted_transfer_id is None:
        return TransferredRecord.objects.none()
    moved_back = TransferredRecord.objects.filter(
        transfer_id=revert.pk,
        record_type=OuterRef("record_type"),
        record_id=OuterRef("record_id"),
    )
    is_share = Q(record_type__in=[record_type.share_name for record_type in RECORD_TYPES])
    return transfer_records(transfer=revert.reverted_transfer).exclude(
        is_share & Q(Exists(moved_back.filter(permission_id=OuterRef("permission_id"))))
        | ~is_share & Q(Exists(moved_back))
    )


def _is_reverted(transfer: Transfer) -> Transfer | None:
    return Transfer.objects.filter(reverted_transfer_id=transfer.pk).first()


def transfer_revert_refusal(
    *, transfer: Transfer, acting_user: User | None = None
) -> TransferRefused | None:
    """Why `transfer` cannot be reverted now, or None when it can.

    revert_not_allowed: already reverted, or a user it took records from has
    been deleted. revert_conflict: the records would return to someone who
    can no longer own them (inactive without this revert reactivating them,
    or no longer allowed to own records).
    """
    if acting_user is not None and not acting_user.has_perm(TRANSFER_RECORDS_PERMISSION):
        return TransferRefused("permission_denied")
    revert = _is_reverted(transfer)
    if revert is not None:
        return TransferRefused(
            "revert_not_allowed",
            reason=f"it was already reverted by transfer #{revert.pk}.",
        )
    targets = set(transfer.records.order_by().values_list("from_user_id", flat=True).distinct())
    if transfer.from_user_id is None or None in targets:
        return TransferRefused(
            "revert_not_allowed",
            reason="a user the records came from has been deleted since.",
        )
    targets.add(transfer.from_user_id)
    reactivated = transfer.from_user_id if transfer.deactivated_from_user else None
    for user in User.objects.filter(pk__in=targets).order_by("pk"):
        if not user.is_active and user.pk != reactivated:
            return TransferRefused(
                "revert_conflict",
                reason=OWNER_ERRORS["owner_inactive"].format(name=user.full_name),
            )
    # Active or not: the revert may reactivate the old user.
    eligible = set(allowed_owners(User.objects.filter(pk__in=targets)).values_list("pk", flat=True))
    for user in User.objects.filter(pk__in=targets - eligible).order_by("pk"):
        return TransferRefused(
            "revert_conflict",
            reason=OWNER_ERRORS["owner_ineligible"].format(name=user.full_name),
        )
    return None


def transfer_list(*, search: str = "") -> QuerySet[Transfer]:
    """Transfer History, newest first; `search` matches the actor's, the old
    user's and any new user's name (as recorded at the time)."""
    transfers = Transfer.objects.select_related("reverted_transfer").annotate(
        recipient_count=_count(TransferRecipient.objects.filter(transfer_id=OuterRef("pk"))),
        is_reverted=Exists(Transfer.objects.filter(reverted_transfer_id=OuterRef("pk"))),
    )
    search = search.strip()
    if search:
        transfers = transfers.filter(
            Q(actor_name__icontains=search)
            | Q(from_user_name__icontains=search)
            | Q(
                Exists(
                    TransferRecipient.objects.filter(
                        transfer_id=OuterRef("pk"), to_user_name__icontains=search
                    )
                )
            )
        )
    return transfers.order_by("-created_at", "-pk")


# --- Distribute: a proposal of one new user per linked client ----------------


class DistributionMode:
    WORKLOAD = "workload"
    ROUND_ROBIN = "round_robin"
    CHOICES = [(WORKLOAD, "Balance by workload"), (ROUND_ROBIN, "Round robin")]


@dataclass(frozen=True)
class ClientLoad:
    """What moving one linked client gives its new user."""

    client_id: int
    clients: int  # 1 when the old user owns the client record, else 0
    matters: int
    cases: int
    sort_key: tuple = ()  # the client's place in the stable order (name, number)


@dataclass
class UserLoad:
    """A chosen user's workload: `start_*` owned before, `received_*` proposed."""

    user_id: int
    start_clients: int
    start_matters: int
    start_cases: int
    received_clients: int = 0
    received_matters: int = 0
    received_cases: int = 0
    received_links: int = 0  # linked clients proposed, owned by the old user or not

    @property
    def clients(self) -> int:
        return self.start_clients + self.received_clients

    @property
    def matters(self) -> int:
        return self.start_matters + self.received_matters

    @property
    def cases(self) -> int:
        return self.start_cases + self.received_cases

    def receive(self, client: ClientLoad) -> None:
        self.received_clients += client.clients
        self.received_matters += client.matters
        self.received_cases += client.cases
        self.received_links += 1


def distribute_clients(
    clients: Sequence[ClientLoad], users: Sequence[UserLoad], mode: str
) -> dict[int, int]:
    """Assign each client whole to one of `users` (updated in place with what
    they receive); returns {client id: user id}.

    By workload: largest client first (cases, then matters), each to the user
    whose resulting case count, then client count, then matter count is
    smallest, counting what they already own; ties go to the user listed first.
    Round robin: clients in their stable order dealt to the users in the order
    given."""
    if not users:
        raise ValueError("Distribute needs at least one user.")
    assignments: dict[int, int] = {}
    in_order = sorted(clients, key=lambda c: (c.sort_key, c.client_id))
    if mode == DistributionMode.ROUND_ROBIN:
        for position, client in enumerate(in_order):
            user = users[position % len(users)]
            user.receive(client)
            assignments[client.client_id] = user.user_id
        return assignments
    if mode != DistributionMode.WORKLOAD:
        raise ValueError(f"Unknown distribution mode {mode!r}.")
    largest_first = sorted(in_order, key=lambda c: (-c.cases, -c.matters, -c.clients))
    # A heap keyed by the resulting load: O(n log u) for thousands of clients.
    heap = [(u.cases, u.clients, u.matters, position) for position, u in enumerate(users)]
    heapq.heapify(heap)
    for client in largest_first:
        *_, position = heapq.heappop(heap)
        user = users[position]
        user.receive(client)
        assignments[client.client_id] = user.user_id
        heapq.heappush(heap, (user.cases, user.clients, user.matters, position))
    return assignments


@dataclass
class Distribution:
    assignments: dict[int, int]  # client id -> user id
    loads: list[UserLoad]  # in the order the users were given
    users: dict[int, User]


def client_distribution(
    *, old_user: User | int, to_users: Sequence[User | int], mode: str = DistributionMode.WORKLOAD
) -> Distribution:
    """A proposal for User Transfer: every client linked to `old_user` goes
    whole to one of `to_users` (see distribute_clients). Reads only: two
    queries, the linked clients with what the old user holds in each, and the
    chosen users with their workload. Whether they may receive is the
    transfer service's decision."""
    user_ids = list(dict.fromkeys(getattr(user, "pk", user) for user in to_users))
    found = {user.pk: user for user in with_workload(User.objects.filter(pk__in=user_ids))}
    users = [found[user_id] for user_id in user_ids if user_id in found]
    loads = [
        UserLoad(
            user_id=user.pk,
            start_clients=user.client_count,
            start_matters=user.matter_count,
            start_cases=user.case_count,
        )
        for user in users
    ]
    rows = linked_clients(user=old_user).values_list(
        "pk", "owned_by_user", "held_matter_count", "held_case_count"
    )
    clients = [
        ClientLoad(
            client_id=pk, clients=int(owned), matters=matters, cases=cases, sort_key=(position,)
        )
        for position, (pk, owned, matters, cases) in enumerate(rows)
    ]
    assignments = distribute_clients(clients, loads, mode) if loads else {}
    return Distribution(assignments=assignments, loads=loads, users=found)
