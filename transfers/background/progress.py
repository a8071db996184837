"""Progress of a transfer while it runs: the phase (clients, matters, cases,
shares, receipt) and what has moved so far.

The engine calls a hook (transfers.engine.progress.ProgressHook) at each
phase and after each set-based move (a few calls per new user, never per
record). The worker's hook writes to the "progress" database alias (see
transfers.background.routers), the command line's draws a line on a terminal.

The worker's hook is also the job's heartbeat: its row is rewritten at least
every TRANSFER_JOB_HEARTBEAT_INTERVAL seconds while the job runs, changed or
not, on a connection of its own, so that it is seen while the transfer's
transaction is open (transfers.background.reaper reads it).
"""

import logging
import threading
import time
from typing import TextIO

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from transfers.background.routers import PROGRESS_DATABASE
from transfers.engine.progress import PHASE_LABELS, PHASES, ProgressHook

logger = logging.getLogger(__name__)


class StoredProgress(ProgressHook):
    """Keeps the progress of job `job_id` in the progress alias, so that any
    web server can read it while the transfer's transaction is still open.

    The transfer never waits for it: the hook only notes the state, and a
    thread of the worker writes the latest state, when it changed, every
    `interval` seconds, and at least every `heartbeat_interval` seconds
    (TRANSFER_JOB_HEARTBEAT_INTERVAL) as the job's heartbeat, over its own
    autocommit connection. A failing write is logged and never stops the
    transfer."""

    def __init__(
        self, job_id: int, *, interval: float = 0.25, heartbeat_interval: float | None = None
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.interval = interval
        if heartbeat_interval is None:
            heartbeat_interval = settings.TRANSFER_JOB_HEARTBEAT_INTERVAL
        self.heartbeat_interval = heartbeat_interval
        self._last_write = time.monotonic()
        self._lock = threading.Lock()
        self._version = 0
        self._written = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._write(self._snapshot()[1])
        self._thread = threading.Thread(
            target=self._run, name=f"transfer-job-{self.job_id}-progress", daemon=True
        )
        self._thread.start()

    def changed(self) -> None:
        with self._lock:
            self._version += 1

    def moved(self, record_type: str, count: int) -> None:
        with self._lock:
            super().moved(record_type, count)
            self._version += 1

    def clear(self) -> None:
        """Stop writing and remove the row (the job's own row says the rest)."""
        from transfers.models import TransferProgress

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            TransferProgress.objects.using(PROGRESS_DATABASE).filter(job_id=self.job_id).delete()
        except DatabaseError:
            logger.exception("Could not clear the progress of transfer job %s", self.job_id)

    def _snapshot(self) -> tuple[int, dict]:
        with self._lock:
            return self._version, {"phase": self.phase, "counts": self.counts.to_json()}

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                version, state = self._snapshot()
                heartbeat_due = time.monotonic() - self._last_write >= self.heartbeat_interval
                if (version != self._written or heartbeat_due) and self._write(state):
                    self._written = version
        finally:
            connections.close_all()  # this thread's own connections

    def _write(self, state: dict) -> bool:
        from transfers.models import TransferProgress

        try:
            TransferProgress.objects.using(PROGRESS_DATABASE).update_or_create(
                job_id=self.job_id, defaults={**state, "updated_at": timezone.now()}
            )
        except DatabaseError:
            logger.exception("Could not record the progress of transfer job %s", self.job_id)
            return False
        self._last_write = time.monotonic()
        return True


class TerminalProgress(ProgressHook):
    """One line on a terminal (stderr of transfer_user), redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.started_at = time.monotonic()
        self.ended = False

    def moved(self, record_type: str, count: int) -> None:
        super().moved(record_type, count)
        self.changed()

    def changed(self) -> None:
        elapsed = time.monotonic() - self.started_at
        moved = [
            f"{count:,} {t.plural}"
            for t, count in self.counts.by_type()
            if count or t.counted_when_none
        ]
        line = (
            f"{PHASE_LABELS.get(self.phase, self.phase)}: {', '.join(moved)}, "
            f"{self.counts.shares:,} shares ({elapsed:.1f} s)"
        )
        # The last phase ends the line: what the commit logs goes below it.
        self.ended = self.phase == PHASES[-1]
        self.stream.write(f"\r\x1b[2K{line}" + ("\n" if self.ended else ""))
        self.stream.flush()

    def finish(self) -> None:
        if not self.ended:
            self.stream.write("\n")
            self.stream.flush()
