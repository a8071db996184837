"""pytest plugin for `make mutate`: each mutant's test run takes one of a few numbered
SQLite test databases, held by a lock on a file beside them, so that mutmut's children can
run side by side without sharing one.

Every run starts from the databases as the first run left them once migrated, before any
test wrote in them: `--reuse-db` alone would hand the next run whatever the last one's
transactional tests flushed (the groups the migrations create among it). They are
copied page by page with SQLite's backup, which keeps each database's write-ahead log
consistent, after closing the connections a forked run inherited."""

import fcntl
import os
import sqlite3
from pathlib import Path

import pytest

_held_slot = None
SUFFIXES = {"default": "", "progress": "-progress"}


def _template(base: Path, suffix: str) -> Path:
    return base / f"test-mutate-migrated{suffix}.sqlite3"


def _copied(source_name: Path | str, target_name: Path | str) -> None:
    source, target = sqlite3.connect(source_name), None
    try:
        target = sqlite3.connect(target_name)
        source.backup(target)
    finally:
        source.close()
        if target is not None:
            target.close()


def pytest_configure(config):
    global _held_slot
    from django.conf import settings
    from django.db import connections

    connections.close_all()
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
        restored = True
        for alias, suffix in SUFFIXES.items():
            name = base / f"test-mutate-{slot}{suffix}.sqlite3"
            if _template(base, suffix).exists():
                _copied(_template(base, suffix), name)
            else:
                restored = False
            settings.DATABASES[alias].setdefault("TEST", {})["NAME"] = str(name)
        if restored:
            _migrate_skipped()
        return
    raise RuntimeError(f"All {slots} mutation test databases are in use.")


def _migrate_skipped() -> None:
    """The restored copies are migrated already: the test run uses them as they are instead
    of checking every migration again (about a second of each mutant's run)."""
    from django.conf import settings
    from django.db.backends.sqlite3.creation import DatabaseCreation

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        name = self._get_test_db_name()
        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        self.connection.ensure_connection()
        return name

    DatabaseCreation.create_test_db = create_test_db


@pytest.fixture(scope="session", autouse=True)
def migrated_databases_kept(django_db_setup, django_db_blocker):
    """After the first run's migrations, before its first test: the copy every run starts
    from. The content types cached by an earlier run in this process (or the one it was
    forked from) are forgotten: a flush recreated them under other ids."""
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()

    base = Path(settings.BASE_DIR)
    for alias, suffix in SUFFIXES.items():
        template = _template(base, suffix)
        if not template.exists():
            partial = template.with_suffix(".partial")
            _copied(settings.DATABASES[alias]["TEST"]["NAME"], partial)
            os.replace(partial, template)
    yield


# The test files that test each module's rules most directly. mutmut runs a mutant's tests
# fastest first and stops at the first failure, but pytest-django then puts every test that
# flushes the database (transactional: the background jobs' all are) after the others: a
# mutant of the background jobs went through every page test that saves a transfer before
# the job tests that kill it. A mutant's home tests now run first, fastest first among them,
# whatever their kind (`access_rows_after_a_flush` makes that safe). Which tests run does
# not change, only their order.
HOME_TESTS = {
    "transfers.engine.": (
        "tests/transfers/test_services.py",
        "tests/transfers/test_services_faults.py",
        "tests/transfers/test_distribution.py",
        "tests/transfers/test_revoked_shares.py",
    ),
    "transfers.background.": (
        "tests/transfers/test_submit.py",
        "tests/transfers/test_jobs.py",
        "tests/transfers/test_scheduled.py",
        "tests/transfers/test_job_liveness.py",
    ),
    "transfers.receipts.": (
        "tests/transfers/test_selectors.py",
        "tests/transfers/test_account_history.py",
    ),
    "users.services.": (
        "tests/users/test_services.py",
        "tests/users/test_suspension.py",
    ),
    "clients.services.": (
        "tests/clients/test_services.py",
        "tests/clients/test_deadlines.py",
    ),
}


def _home_tests(mutant: str) -> tuple[str, ...]:
    return next((files for prefix, files in HOME_TESTS.items() if mutant.startswith(prefix)), ())


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    home = _home_tests(os.environ.get("MUTANT_UNDER_TEST", ""))
    if home:
        items.sort(key=lambda item: item.nodeid.split("::")[0] not in home)


@pytest.fixture(autouse=True)
def access_rows_after_a_flush(request, django_db_blocker):
    """A test that rolls back may now follow one that flushed the database, and with it
    the groups and permissions the migrations give: they are put back first, as the
    transactional tests' own fixtures do."""
    if not _home_tests(os.environ.get("MUTANT_UNDER_TEST", "")):
        return
    from django.contrib.auth.models import Group

    from tests.helpers import default_groups_restore

    with django_db_blocker.unblock():
        if not Group.objects.exists():
            default_groups_restore()


def pytest_unconfigure(config):
    global _held_slot
    if _held_slot is not None:
        fcntl.flock(_held_slot, fcntl.LOCK_UN)
        _held_slot.close()
        _held_slot = None
