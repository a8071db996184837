"""A fourth owned record type needs nothing but its registry entry: the memo
app in tests/fourth_record_type registers one, and its tests run in a pytest
of their own with that app installed (on the same database server)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def test_a_fourth_record_type_is_transferred_counted_and_listed():
    folder = Path(settings.BASE_DIR) / "tests" / "fourth_record_type"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(folder),
            "--ds=tests.fourth_record_type.settings",
            "-p",
            "no:cacheprovider",
            "-q",
            "--create-db",
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
