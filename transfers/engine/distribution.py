"""Distribute: a proposal of one new user per client linked to the old user,
each client going whole to one user. The same code serves the User Transfer
screen, the command line and the API."""

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from clients.record_types import RecordCounts
from transfers.engine.holdings import held_counts, linked_clients
from users.models import User
from users.selectors import with_workload


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
    # Everything the old user holds in it, per record type (deadlines included).
    held: RecordCounts = field(default_factory=RecordCounts)


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
    # Every record type's counts, for the totals the screens show; the balancing
    # compares the three above.
    start_counts: RecordCounts = field(default_factory=RecordCounts)
    received_counts: RecordCounts = field(default_factory=RecordCounts)

    @property
    def clients(self) -> int:
        return self.start_clients + self.received_clients

    @property
    def matters(self) -> int:
        return self.start_matters + self.received_matters

    @property
    def cases(self) -> int:
        return self.start_cases + self.received_cases

    @property
    def counts(self) -> RecordCounts:
        """What the user would own after Save, per record type."""
        return self.start_counts + self.received_counts

    def receive(self, client: ClientLoad) -> None:
        self.received_clients += client.clients
        self.received_matters += client.matters
        self.received_cases += client.cases
        self.received_links += 1
        self.received_counts += client.held


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
    *,
    old_user: User | int,
    to_users: Sequence[User | int],
    mode: str = DistributionMode.WORKLOAD,
    kept: Mapping[int, int] | None = None,
) -> Distribution:
    """A proposal for User Transfer: every client linked to `old_user` goes
    whole to one of `to_users` (see distribute_clients). Reads only: two
    queries, the linked clients with what the old user holds in each, and the
    chosen users with their workload. Whether they may receive is the
    transfer service's decision. `kept` ({client id: user id}) are rows
    already assigned: they stay as they are, and those kept for a chosen user
    count in that user's totals, as Save would give them."""
    kept = kept or {}
    user_ids = list(dict.fromkeys(getattr(user, "pk", user) for user in to_users))
    found = {user.pk: user for user in with_workload(User.objects.filter(pk__in=user_ids))}
    users = [found[user_id] for user_id in user_ids if user_id in found]
    loads = []
    for user in users:
        workload = RecordCounts.annotated(user)
        loads.append(
            UserLoad(
                user_id=user.pk,
                start_clients=workload["client"],
                start_matters=workload["matter"],
                start_cases=workload["case"],
                start_counts=workload,
            )
        )
    load_of = {load.user_id: load for load in loads}
    clients = []
    for position, client in enumerate(linked_clients(user=old_user)):
        held = held_counts(client)
        load = ClientLoad(
            client_id=client.pk,
            clients=held["client"],
            matters=held["matter"],
            cases=held["case"],
            sort_key=(position,),
            held=held,
        )
        if client.pk not in kept:
            clients.append(load)
        elif kept[client.pk] in load_of:
            load_of[kept[client.pk]].receive(load)
    assignments = distribute_clients(clients, loads, mode) if loads else {}
    return Distribution(assignments=assignments, loads=loads, users=found)
