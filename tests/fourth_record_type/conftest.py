from django.conf import settings

# These tests need the memo app, which only this folder's settings install:
# tests/test_fourth_record_type.py runs them in a pytest of their own.
if "tests.fourth_record_type" not in settings.INSTALLED_APPS:
    collect_ignore_glob = ["test_*.py"]
