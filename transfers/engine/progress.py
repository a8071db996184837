"""What the engine tells about a transfer while it runs: the phase (one per
record type, then the shares and the receipt) and what has moved so far. The
engine calls it a few times per new user, never per record. This base class
ignores it all; the background worker and the command line show or store it."""

from clients.record_types import RECORD_TYPES, SHARES, RecordCounts

RECEIPT = "receipt"
# The phases in order: one per record type (its plural), the shares, the receipt.
PHASES = (*(record_type.plural for record_type in RECORD_TYPES), SHARES, RECEIPT)
PHASE_LABELS = {
    **{record_type.plural: f"Moving {record_type.plural}" for record_type in RECORD_TYPES},
    SHARES: "Moving shares",
    RECEIPT: "Writing the receipt",
}


class ProgressHook:
    """What the engine reports to. This base class only keeps it."""

    def __init__(self) -> None:
        self.phase = ""
        self.counts = RecordCounts()

    def started(self, phase: str) -> None:
        self.phase = phase
        self.changed()

    def moved(self, record_type: str, count: int) -> None:
        """`count` more records of `record_type` (a RecordType.name, or SHARES) moved."""
        self.counts = self.counts.added(record_type, count)

    def changed(self) -> None:
        """Override to show or store the phase and counts."""
