"""What the benchmarks share: databases, Django, the bulk loader, users, the one place
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = {
    "first": ["Alice", "Ben", "Chloe", "David", "Emma", "Felix", "Hana", "Ivan", "Julia", "Karl"],
    "last": ["Adler", "Brandt", "Castillo", "Dubois", "Eriksen", "Ferreira", "Gallo", "Hoffmann"],
    "org": ["Holdings", "Logistics", "Foods", "Energy", "Partners", "Media", "Builders", "Pharma"],
    "court": ["High Court", "County Court", "Court of Appeal", "Employment Tribunal",
              "Family Court"],
    "topic": ["Contract dispute", "Acquisition", "Lease renewal", "Unfair dismissal",
              "Trademark filing", "Tax appeal"],
    "area": ["litigation", "corporate", "employment", "family", "tax"],
    "status": ["active", "prospective", "former"],
}  # fmt: skip


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


def vacuum_analyze(*tables: str) -> None:
    started = time.perf_counter()
    connection.cursor().execute(f"VACUUM ANALYZE {', '.join(tables)}")
    progress(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


def records_insert(*, prefix: str, clients: int, owners: list[int], dealt: bool = False) -> None:
    """`clients` clients, with 5 matters each and 5 cases per matter, by INSERT ... SELECT
    generate_series, with names, kinds, areas and statuses that vary. The owners take one
    block of clients each, in id order, with everything under them; `dealt`: the clients
    are dealt to them in turn, and 3 matters or cases in 10 go to another owner."""

    def word(kind: str, index: str) -> str:
        words = ",".join(f"'{word}'" for word in WORDS[kind])
        return f"(ARRAY[{words}])[1 + ({index}) %% {len(WORDS[kind])}]"

    def owned(step: int) -> str:  # the owner of row g, under client c
        owner = f"(%(owners)s::bigint[])[1 + (c - 1) * {len(owners)} / {clients}]"
        if dealt:
            owner = f"(%(owners)s::bigint[])[1 + (c * 7) %% {len(owners)}]"
        other = f"(%(owners)s::bigint[])[1 + (g * {step}) %% {len(owners)}]"
        return f"CASE WHEN g %% 10 < 7 THEN {owner} ELSE {other} END" if dealt and step else owner

    cases = f"{word('last', 'c')} || ' v. ' || {word('last', 'g')} || ' ' || {word('org', 'g / 7')}"
    statements = (
        ("clients_client", clients, "g AS c", "number, name, kind, email, phone, address, status",
         f"'{prefix}C-' || lpad(g::text, 7, '0'), CASE WHEN g %% 3 = 0 THEN {word('last', 'g')} "
         f"|| ' ' || {word('org', 'g / 8')} ELSE {word('first', 'g')} || ' ' || "
         f"{word('last', 'g / 10')} END || ' ' || g, CASE WHEN g %% 3 = 0 THEN 'organisation' "
         f"ELSE 'person' END, 'client' || g || '@example.com', '', '', {word('status', 'g')}, "
         f"{owned(0)}"),
        ("clients_matter", clients * 5, "(g - 1) / 5 + 1 AS c",
         "client_id, number, title, practice_area, status",
         f"{{clients_client}} + c, '{prefix}M-' || lpad(g::text, 8, '0'), {word('topic', 'g')} "
         f"|| ' ' || g, {word('area', 'g')}, CASE WHEN g %% 4 = 0 THEN 'closed' ELSE 'open' END, "
         f"{owned(13)}"),
        ("clients_case", clients * 25, "(g - 1) / 5 + 1 AS m, (g - 1) / 25 + 1 AS c",
         "matter_id, client_id, number, caption, court, status",
         f"{{clients_matter}} + m, {{clients_client}} + c, '{prefix}K-' || lpad(g::text, 9, "
         f"'0'), {cases} || ' ' || g, {word('court', 'g')}, CASE WHEN g %% 3 = 0 THEN 'closed' "
         f"ELSE 'open' END, {owned(17)}"),
    )  # fmt: skip
    first = {}  # the id before the first row of each table (one statement: ids follow)
    with connection.cursor() as cursor:
        for table, count, index, columns, values in statements:
            cursor.execute(
                f"INSERT INTO {table} ({columns}, owner_id, created_at, updated_at) SELECT "
                f"{values.format(**first)}, now(), now() FROM (SELECT g, {index} FROM "
                f"generate_series(1, {count}) AS g) AS s",
                {"owners": owners},
            )
            cursor.execute(f"SELECT max(id) - {count} FROM {table}")
            first[table] = cursor.fetchone()[0]
            progress(f"{count:,} rows in {table}")


def user_ensure(username: str, group: str, name: str, **fields):
    """The user `username` ("First Last" `name`, in `group`), created if missing."""
    from django.contrib.auth.models import Group

    from users.models import User

    first, last = name.split(" ", 1)
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@bench.local",
                  "password": "!", **fields},
    )  # fmt: skip
    if created:
        user.groups.add(Group.objects.get(name=group))
    return user


def users_create(usernames: list[str], groups: list[str], *, inactive_every: int = 0) -> None:
    """Bulk-create `usernames`, in `groups` in turn and every `inactive_every`-th inactive,
    without a password (the benchmarks use force_login)."""
    from django.contrib.auth.models import Group

    from users.models import User

    if not usernames:
        return
    progress(f"adding {len(usernames):,} users ...")
    made = User.objects.bulk_create(
        User(username=username, first_name=WORDS["first"][i % 5],
             last_name=f"{WORDS['last'][i % 7]} {i:04d}", email=f"{username}@bench.local",
             password="!", is_active=not inactive_every or i % inactive_every != 0)
        for i, username in enumerate(usernames)
    )  # fmt: skip
    ids = {group.name: group.pk for group in Group.objects.filter(name__in=groups)}
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=ids[groups[i % len(groups)]])
        for i, user in enumerate(made)
    )


def signed_in(user) -> Client:
    """A test client of the app, signed in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def service(name: str, **arguments):
    """transfers.services.<name>(**arguments), the one place the benchmarks call a service:
    the Transfer it made."""
    from transfers import services

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
