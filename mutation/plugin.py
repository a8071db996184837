"""pytest plugin for `make mutate`: each mutant's test run takes one of a few numbered
SQLite test databases, held by a lock on a file beside them, so that mutmut's children can
run side by side without sharing one; `--reuse-db` keeps each one migrated."""

import fcntl
import os
from pathlib import Path

_held_slot = None


def pytest_configure(config):
    global _held_slot
    from django.conf import settings

    base = Path(settings.BASE_DIR)
    slots = int(os.environ.get("MUTATE_CHILDREN", "1")) + 1  # mutmut's own stats run holds one
    for slot in range(slots):
        lock = open(base / f"test-mutate-{slot}.lock", "w")  # noqa: SIM115 held for the run
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held_slot = lock
        for alias, suffix in (("default", ""), ("progress", "-progress")):
            name = str(base / f"test-mutate-{slot}{suffix}.sqlite3")
            settings.DATABASES[alias].setdefault("TEST", {})["NAME"] = name
        return
    raise RuntimeError(f"All {slots} mutation test databases are in use.")


def pytest_unconfigure(config):
    global _held_slot
    if _held_slot is not None:
        fcntl.flock(_held_slot, fcntl.LOCK_UN)
        _held_slot.close()
        _held_slot = None
