"""Helpers the tests import (fixtures stay in conftest.py)."""


def counts_of(row) -> tuple[int, int, int, int]:
    """(clients, matters, cases, shares) of a receipt or of one of its recipients."""
    counts = row.record_counts
    return (counts["client"], counts["matter"], counts["case"], counts.shares)
