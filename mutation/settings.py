"""Settings for `make mutate`: the test settings on SQLite, with the test databases in files
(named per run by mutation/plugin.py) that every mutant's run reuses (`--reuse-db`), so that
a mutant costs its tests, not the migrations."""

from casengine.test_settings import *  # noqa: F403
from casengine.test_settings import BASE_DIR, DATABASES

DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-mutate-0.sqlite3")}
DATABASES["progress"]["TEST"] = {"NAME": str(BASE_DIR / "test-mutate-0-progress.sqlite3")}
