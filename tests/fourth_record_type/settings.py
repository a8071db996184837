"""The test settings with the memo app installed before `transfers`, in test
databases of their own (the main suite may be running beside)."""

from casengine.test_settings import *  # noqa: F403
from casengine.test_settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [
    *INSTALLED_APPS[: INSTALLED_APPS.index("transfers")],
    "tests.fourth_record_type",
    *INSTALLED_APPS[INSTALLED_APPS.index("transfers") :],
]
ROOT_URLCONF = "tests.fourth_record_type.urls"
for _alias, _database in DATABASES.items():
    _test = _database.setdefault("TEST", {})
    if "MIRROR" in _test:
        continue
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        if "NAME" in _test:  # a file: the progress alias
            _test["NAME"] = _test["NAME"].replace(".sqlite3", "-fourth-record-type.sqlite3")
    else:
        _test["NAME"] = f"test_{_database['NAME']}_fourth_record_type"
