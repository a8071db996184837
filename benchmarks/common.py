"""What the benchmarks share: databases, Django, users, the one place
they call the transfer services, and how a figure is measured and summed up."""

import math
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import django
import psycopg
from django.core.management import call_command
from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def django_setup(name: str, variable: str, *, fresh: bool = False) -> None:
    """Django on the URL in `variable`, else on the database `name` on DATABASE_URL's server,
    created if missing (dropped first when `fresh`) and migrated; by default the test
    settings (the test client's host, plain HTTP) with persistent connections, as a server
    keeps them, and no mail."""
    default = urlsplit(os.environ.get("DATABASE_URL") or "postgres://root@127.0.0.1:5432")
    url = os.environ.get(variable) or default._replace(path=f"/{name}", query="").geturl()
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"The benchmarks run on PostgreSQL: set {variable} to a postgres:// URL.")
    name, server = parts.path.lstrip("/"), parts._replace(path="/postgres", query="").geturl()
    with psycopg.connect(server, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            print(f"Creating database {name}", flush=True)
            conn.execute(f'CREATE DATABASE "{name}"')
    mail = "django.core.mail.backends.dummy.EmailBackend"
    os.environ.update(DATABASE_URL=url, EMAIL_BACKEND=mail)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.test_settings")
    os.environ.setdefault("CONN_MAX_AGE", "600")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    # As in a server or worker that has answered once: otherwise the first reverse() (a
    # transfer's e-mail) imports every view inside the first timed call.
    reverse("clients:deadline_list")


def vacuum_analyze(*tables: str) -> None:
    started = time.perf_counter()
    connection.cursor().execute(f"VACUUM ANALYZE {', '.join(tables)}")
    progress(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


def signed_in(user) -> Client:
    """A test client of the app, signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def service(name: str, **arguments):
    """transfers.engine.services.<name>(**arguments), the one place the benchmarks call a service:
    the Transfer it made."""
    from transfers.engine import services

    return getattr(services, name)(**arguments).transfer


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, for make bench and make load alike."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def row(key, label, timings: list[tuple], budget=None, note="", **extra):
    """One row of the table from (seconds, queries) `timings`: median and p95 of the
    seconds, the most queries."""
    seconds = [timing[0] for timing in timings]
    return {
        "key": key, "label": label, "n": len(seconds),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "queries": max(timing[1] for timing in timings), "budget": budget, "note": note, **extra,
    }  # fmt: skip


def progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", flush=True)


def measured(function, *args, **kwargs):
    """(seconds, queries, result) of function(*args, **kwargs)."""
    reset_queries()  # the log keeps at most 9,000 queries
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds = time.perf_counter() - started
    return seconds, len(captured), result


def timed_pages(client, pages, runs: int, budget: int) -> list[dict]:
    """GET each (key, label, url) `runs` times after one warm-up."""
    rows = []
    for key, label, url in pages:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        size = len(response.content)
        timings = [measured(client.get, url)[:2] for _ in range(runs)]
        rows.append(row(key, label, timings, budget, f"{size / 1024:,.0f} KB", bytes=size))
        progress(f"{label}: median {rows[-1]['median_ms']:.0f} ms, {rows[-1]['queries']} queries")
    return rows
