"""What the buttons that fill User Transfer's rows did, in words: Distribute
fills only the rows nobody assigned yet (unless asked to replace them; the
proposal is transfers.engine.distribution.client_distribution with `kept`),
and each button says how many rows it filled, kept or replaced. Reads only."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.template.defaultfilters import pluralize

from clients.models import Client


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
