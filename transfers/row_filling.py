"""What the buttons that fill User Transfer's rows leave alone, and how they
say it: Distribute fills only the rows nobody assigned yet (unless asked to
replace them), counting the rows kept in the chosen users' totals; each
button says how many rows it filled, kept or replaced. Reads only."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.template.defaultfilters import pluralize

from clients.models import Client
from transfers.selectors import (
    ClientLoad,
    Distribution,
    DistributionMode,
    UserLoad,
    distribute_clients,
    linked_clients,
)
from users.models import User
from users.selectors import with_workload


def client_distribution_keeping(
    *,
    old_user: User | int,
    to_users: Sequence[User | int],
    mode: str = DistributionMode.WORKLOAD,
    kept: Mapping[int, int],
) -> Distribution:
    """selectors.client_distribution for the rows not in `kept` ({client id:
    user id}, the rows already assigned): those stay as they are, and the ones
    kept for a chosen user count in that user's totals, as Save would give
    them. Two queries."""
    user_ids = list(dict.fromkeys(getattr(user, "pk", user) for user in to_users))
    found = {user.pk: user for user in with_workload(User.objects.filter(pk__in=user_ids))}
    loads = [
        UserLoad(
            user_id=found[user_id].pk,
            start_clients=found[user_id].client_count,
            start_matters=found[user_id].matter_count,
            start_cases=found[user_id].case_count,
        )
        for user_id in user_ids
        if user_id in found
    ]
    load_of = {load.user_id: load for load in loads}
    rows = linked_clients(user=old_user).values_list(
        "pk", "owned_by_user", "held_matter_count", "held_case_count"
    )
    to_distribute = []
    for position, (pk, owned, matters, cases) in enumerate(rows):
        client = ClientLoad(
            client_id=pk, clients=int(owned), matters=matters, cases=cases, sort_key=(position,)
        )
        if pk not in kept:
            to_distribute.append(client)
        elif kept[pk] in load_of:
            load_of[kept[pk]].receive(client)
    assignments = distribute_clients(to_distribute, loads, mode) if loads else {}
    return Distribution(assignments=assignments, loads=loads, users=found)


@dataclass(frozen=True)
class FillCount:
    """What a button did to the rows: filled (written), of which replaced (a
    different user was there), and kept (already assigned, left alone)."""

    filled: int
    replaced: int
    kept: int


def fill_count(
    clients: Sequence[Client],
    fill: Callable[[Client], str | None],
    posted: Callable[[int], str],
) -> FillCount:
    filled = replaced = kept = 0
    for client in clients:
        before = posted(client.pk)
        value = fill(client)
        if value is None:
            kept += bool(before)
            continue
        filled += 1
        replaced += bool(before) and before != value
    return FillCount(filled=filled, replaced=replaced, kept=kept)


def _rows(count: int) -> str:
    return f"{count:,} row{pluralize(count)}"


def _assignments(count: int) -> str:
    return f"{count:,} assignment{pluralize(count)}"


def distribute_status(count: FillCount, *, replace: bool) -> str:
    """ "Distribute filled 32 empty rows and kept 4 already assigned." """
    if replace:
        text = f"Distribute filled {_rows(count.filled)}"
        if count.replaced:
            text += f", replacing {_assignments(count.replaced)} already made"
        return text + "."
    text = f"Distribute filled {count.filled:,} empty row{pluralize(count.filled)}"
    if count.kept:
        text += (
            f" and kept {count.kept:,} already assigned (tick “Replace assignments "
            f"already made” to distribute those too)"
        )
    return text + "."


def assign_status(count: FillCount, *, user_name: str) -> str:
    """ "36 clients assigned to Tom Becker, replacing 4 assignments already made." """
    text = f"{count.filled:,} client{pluralize(count.filled)} assigned to {user_name}"
    if count.replaced:
        text += f", replacing {_assignments(count.replaced)} already made"
    return text + "."


def nothing_assigned(clients: Sequence[Client], posted: Callable[[int], str]) -> bool:
    """Whether no row has a new user yet: a Save of the form as it opened."""
    return not any(posted(client.pk) for client in clients)


def refused_row_links(
    refused_ids: Sequence[int], clients: Sequence[Client], *, limit: int
) -> list[tuple[str, str]]:
    """(anchor, "Name (number)") of the first `limit` rows a refusal concerns,
    in the order of the rows, so the message links to each of them."""
    concerned = set(refused_ids)
    return [
        (f"#id_client-{client.pk}", f"{client.name} ({client.number})")
        for client in clients
        if client.pk in concerned
    ][:limit]
