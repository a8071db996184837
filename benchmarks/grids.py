"""Grid benchmark: median server time and query count per grid page at scale.

    python benchmarks/grids.py            (or: make bench-grids)

Builds, once, a PostgreSQL database (casengine_bench_grids, or BENCH_GRIDS_DATABASE_URL)
with 100,000 clients, 500,000 matters and 2,500,000 cases spread over 200 owners,
loaded with INSERT ... SELECT generate_series and VACUUM ANALYZEd; later runs reuse it.
Then renders representative grid URLs in-process with django.test.Client, signed in
as a manager (sees everything) and as an attorney (sees their own records only), and
prints the median time, the slowest time and the number of queries of each page.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://root@127.0.0.1:5432/casengine_bench_grids"
CLIENTS, MATTERS_PER_CLIENT, CASES_PER_MATTER = 100_000, 5, 5
OWNERS = 200
FIRST = ["Alice", "Ben", "Chloe", "David", "Emma", "Felix", "Hana", "Ivan", "Julia", "Karl"]
LAST = ["Adler", "Brandt", "Castillo", "Dubois", "Eriksen", "Ferreira", "Gallo", "Hoffmann"]
ORGS = ["Holdings", "Logistics", "Foods", "Energy", "Partners", "Media", "Builders", "Pharma"]
COURTS = ["High Court", "County Court", "Court of Appeal", "Employment Tribunal", "Family Court"]


def database_ensure(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def data_load() -> None:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from clients.models import Case, Client, Matter
    from users import groups
    from users.models import User

    if Case.objects.count() >= CLIENTS * MATTERS_PER_CLIENT * CASES_PER_MATTER:
        print("reusing the loaded data")
        return
    if Client.objects.exists():
        sys.exit("The benchmark database holds partial data: drop it and run again.")
    started = time.perf_counter()
    password = make_password("bench-password")
    with transaction.atomic():
        users = [
            User(
                username=f"bench.owner{i:03d}",
                first_name=FIRST[i % len(FIRST)],
                last_name=f"{LAST[i % len(LAST)]}{i:03d}",
                email=f"owner{i}@example.com",
                password=password,
            )
            for i in range(1, OWNERS + 1)
        ]
        users.append(
            User(username="bench.manager", first_name="Helen", last_name="Ward", password=password)
        )
        users.append(
            User(
                username="bench.former",
                first_name="Frank",
                last_name="Former",
                password=password,
                is_active=False,
            )
        )
        User.objects.bulk_create(users)
        by_name = {u.username: u for u in User.objects.filter(username__startswith="bench.")}
        attorneys = Group.objects.get(name=groups.ATTORNEYS)
        paralegals = Group.objects.get(name=groups.PARALEGALS)
        managers = Group.objects.get(name=groups.MANAGERS)
        memberships = [
            User.groups.through(
                user_id=by_name[f"bench.owner{i:03d}"].pk,
                group_id=(attorneys if i % 4 else paralegals).pk,
            )
            for i in range(1, OWNERS + 1)
        ]
        memberships.append(
            User.groups.through(user_id=by_name["bench.manager"].pk, group_id=managers.pk)
        )
        memberships.append(
            User.groups.through(user_id=by_name["bench.former"].pk, group_id=attorneys.pk)
        )
        User.groups.through.objects.bulk_create(memberships)
        owner_ids = [by_name[f"bench.owner{i:03d}"].pk for i in range(1, OWNERS + 1)]

    n = len(owner_ids)
    matters = CLIENTS * MATTERS_PER_CLIENT
    cases = matters * CASES_PER_MATTER
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO clients_client
                (number, name, kind, email, phone, address, status, owner_id,
                 created_at, updated_at)
            SELECT 'C-' || lpad(g::text, 7, '0'),
                   CASE WHEN g %% 3 = 0
                        THEN ({sql_array(LAST)})[1 + g %% {len(LAST)}] || ' '
                             || ({sql_array(ORGS)})[1 + (g / 8) %% {len(ORGS)}] || ' ' || g
                        ELSE ({sql_array(FIRST)})[1 + g %% {len(FIRST)}] || ' '
                             || ({sql_array(LAST)})[1 + (g / 10) %% {len(LAST)}] || ' ' || g END,
                   CASE WHEN g %% 3 = 0 THEN 'organisation' ELSE 'person' END,
                   'client' || g || '@example.com', '', '',
                   (ARRAY['active', 'prospective', 'former'])[1 + g %% 3],
                   (%(owners)s::bigint[])[1 + (g * 7) %% {n}], now(), now()
            FROM generate_series(1, {CLIENTS}) AS g
            """,
            {"owners": owner_ids},
        )
        cursor.execute("SELECT min(id) FROM clients_client")
        client_base = cursor.fetchone()[0] - 1
        print(f"clients loaded ({time.perf_counter() - started:.0f}s)")
        cursor.execute(
            f"""
            INSERT INTO clients_matter
                (client_id, number, title, practice_area, status, owner_id, created_at, updated_at)
            SELECT {client_base} + c,
                   'M-' || lpad(g::text, 8, '0'),
                   (ARRAY['Contract dispute', 'Acquisition', 'Lease renewal', 'Unfair dismissal',
                          'Trademark filing', 'Tax appeal'])[1 + g %% 6] || ' ' || g,
                   (ARRAY['litigation', 'corporate', 'employment', 'family', 'tax'])[1 + g %% 5],
                   CASE WHEN g %% 4 = 0 THEN 'closed' ELSE 'open' END,
                   CASE WHEN g %% 10 < 7 THEN (%(owners)s::bigint[])[1 + (c * 7) %% {n}]
                        ELSE (%(owners)s::bigint[])[1 + (g * 13) %% {n}] END,
                   now(), now()
            FROM (SELECT g, (g - 1) / {MATTERS_PER_CLIENT} + 1 AS c
                  FROM generate_series(1, {matters}) AS g) AS s
            """,
            {"owners": owner_ids},
        )
        cursor.execute("SELECT min(id) FROM clients_matter")
        matter_base = cursor.fetchone()[0] - 1
        print(f"matters loaded ({time.perf_counter() - started:.0f}s)")
        per_client = MATTERS_PER_CLIENT * CASES_PER_MATTER
        cursor.execute(
            f"""
            INSERT INTO clients_case
                (matter_id, client_id, number, caption, court, status, owner_id,
                 created_at, updated_at)
            SELECT {matter_base} + m, {client_base} + c,
                   'K-' || lpad(g::text, 9, '0'),
                   ({sql_array(LAST)})[1 + c %% {len(LAST)}] || ' v. '
                       || ({sql_array(LAST)})[1 + g %% {len(LAST)}] || ' '
                       || ({sql_array(ORGS)})[1 + (g / 7) %% {len(ORGS)}] || ' ' || g,
                   ({sql_array(COURTS)})[1 + g %% {len(COURTS)}],
                   CASE WHEN g %% 3 = 0 THEN 'closed' ELSE 'open' END,
                   CASE WHEN g %% 10 < 7 THEN (%(owners)s::bigint[])[1 + (c * 7) %% {n}]
                        ELSE (%(owners)s::bigint[])[1 + (g * 17) %% {n}] END,
                   now(), now()
            FROM (SELECT g, (g - 1) / {CASES_PER_MATTER} + 1 AS m,
                         (g - 1) / {per_client} + 1 AS c
                  FROM generate_series(1, {cases}) AS g) AS s
            """,
            {"owners": owner_ids},
        )
        print(f"cases loaded ({time.perf_counter() - started:.0f}s)")
    connection.close()
    with connection.cursor() as cursor:
        connection.connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    print(f"loaded and analysed in {time.perf_counter() - started:.0f}s")
    print(
        f"{Client.objects.count():,} clients, {Matter.objects.count():,} matters, "
        f"{Case.objects.count():,} cases"
    )


def grid_urls(owner_id: int) -> list[tuple[str, str]]:
    urls = []
    for path, sorts, search in (
        ("/clients/", ("name", "kind", "status"), "Hoffmann"),
        ("/matters/", ("title", "practice_area", "status"), "Acquisition"),
        ("/cases/", ("caption", "court", "status"), "Brandt"),
    ):
        urls += [("first page", path)]
        urls += [(f"sort {sort}", f"{path}?sort={sort}") for sort in sorts]
        status = "active" if path == "/clients/" else "closed"
        urls += [
            ("sort -owner", f"{path}?sort=-owner"),
            ("owner filter", f"{path}?owner={owner_id}"),
            ("status filter", f"{path}?status={status}"),
            # A few thousand rows: sorted by a column with no index (matters, cases).
            (
                f"owner+status, sort {sorts[0]}",
                f"{path}?owner={owner_id}&status={status}&sort={sorts[0]}",
            ),
            (f"search {search}", f"{path}?q={search}"),
            ("search rare", f"{path}?q=00042"),
            ("deep page", f"{path}?page=999999&per_page=100"),
        ]
    return urls


def grids_measure(*, runs: int, match: str = "") -> None:
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext

    from clients.access import records_for_user
    from clients.models import Case
    from users.models import User

    request_started.disconnect(reset_queries)  # keep the log, to count each page's queries
    manager = User.objects.get(username="bench.manager")
    attorney = User.objects.get(username="bench.owner001")
    other_owner = User.objects.get(username="bench.owner005")
    print(
        f"manager sees {records_for_user(manager, Case).count():,} cases; "
        f"attorney owns {records_for_user(attorney, Case).count():,} cases"
    )
    print(f"{'user':9} {'page':16} {'url':42} {'median ms':>9} {'max ms':>7} {'queries':>7}")
    medians = []
    for label, user in (("manager", manager), ("attorney", attorney)):
        browser = TestClient()
        browser.force_login(user)
        for name, url in grid_urls(other_owner.pk if user is manager else attorney.pk):
            if match not in url:
                continue
            response = browser.get(url)  # warm caches
            assert response.status_code == 200, (url, response.status_code)
            reset_queries()  # the log holds at most 9,000 queries
            with CaptureQueriesContext(connection) as queries:
                browser.get(url)
            query_count = len(queries.captured_queries)
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                browser.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            median = statistics.median(timings)
            medians.append(median)
            print(
                f"{label:9} {name:16} {url:42} {median:9.1f} {max(timings):7.1f} {query_count:7d}"
            )
    print(
        f"median of medians: {statistics.median(medians):.1f} ms; "
        f"slowest median: {max(medians):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed requests per URL (default 7)")
    parser.add_argument("--load-only", action="store_true", help="build the database and stop")
    parser.add_argument("--match", default="", help="only the URLs containing this text")
    args = parser.parse_args()

    url = os.environ.get("BENCH_GRIDS_DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("The grid benchmark needs PostgreSQL (BENCH_GRIDS_DATABASE_URL).")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.test_settings")
    # Persistent connections, as a production server keeps them.
    os.environ.setdefault("CONN_MAX_AGE", "600")
    database_ensure(url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    data_load()
    if args.load_only:
        return
    grids_measure(runs=args.runs, match=args.match)


if __name__ == "__main__":
    main()
