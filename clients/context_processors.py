"""What every template may loop over: the owned record types, from the registry."""

from clients.record_types import RECORD_TYPES


def record_types(request) -> dict:
    return {"owned_record_types": RECORD_TYPES}
