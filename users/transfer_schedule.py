"""Which users have a transfer of their records scheduled (User Registration's
*Transfer scheduled* state, the leavers filter).

The users app does not know transfers: the transfers app registers its reader
when it is ready (TransfersConfig.ready)."""

from collections.abc import Callable

_reader: Callable[[], set[int]] | None = None


def scheduled_transfer_reader_register(reader: Callable[[], set[int]]) -> None:
    """Register the function that returns the ids of the users whose records a
    scheduled transfer is to move."""
    global _reader
    _reader = reader


def users_with_scheduled_transfer() -> set[int]:
    """Ids of the users with a scheduled transfer (none when no reader is registered)."""
    return _reader() if _reader is not None else set()
