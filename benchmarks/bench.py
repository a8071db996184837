"""Benchmark of every hot path at the reference scale of PRODUCT.md, on PostgreSQL.

    make bench
    .venv/bin/python benchmarks/bench.py [--only transfers,pages,grids] [--rounds 3]
        [--runs 7] [--output FILE] [--compare PREVIOUS.json]

Two databases, built on the first run and reused afterwards:

- casengine_bench (BENCH_DATABASE_URL; see benchmarks/transfer.py): the
  reference load of benchmarks/transfer.py (bench.old owns 10,000 clients,
  50,000 matters, 250,000 cases among ten times as many of others), plus, added
  here, bench.pc linked to 1,000 clients (950 owned with their matters and
  cases, 50 others' clients under which it holds a matter and its cases) and
  users up to 2,000 in all.
- casengine_bench_grids (BENCH_GRIDS_DATABASE_URL; see benchmarks/grids.py):
  100,000 clients, 500,000 matters, 2,500,000 cases.
- casengine_bench_user_transfer (BENCH_USER_TRANSFER_DATABASE_URL, on the
  server of the bench database otherwise): leavers linked to 1,000 and 5,000
  clients (each with a matter and two cases) and 1,400 eligible users, of whom
  1,200 leave the Attorneys group for the rows with 200.

Sections (--only): `transfers` (Transfer All, service against hand-written SQL
and against the lean floor: the same SQL on copies of the tables carrying only a
primary key and an owner index, see benchmarks/transfer.py; per-client transfer
of bench.pc's 1,000 clients to 10 users; revert of it), `pages` (User
Registration with 2,000 users, User Transfer All and User Transfer forms, a
Transfer All receipt), `grids` (the record grids at full scale, with the
index budget and then, side by side, with the indexes it dropped recreated
inside a transaction that is rolled back; --no-before skips that second pass)
and `user_transfer` (the User Transfer page at 1,000 and 5,000 clients x 200
and 1,400 eligible users: bytes and server time; its Save of 5,000 clients to
10 users, Distribute and Preview through the view; and, when Playwright and
Chromium are installed, the page's load in headless Chromium at 1,000 x 200).
Pages are rendered in-process with django.test.Client; server time is the time
of the client.get call, queries are counted with CaptureQueriesContext. Each
section runs in its own process (its own database).

Prints one table (median, p95, queries per row), writes the same figures to
bench-results/bench-<date>.json, and with --compare prints the change against an
earlier file. Exits non-zero when a target is missed: service / SQL above 1.5,
service / lean floor above 3, or a row above its query budget.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

SECTIONS = ("transfers", "pages", "grids", "user_transfer")
TARGET_RATIO = 1.5
# Transfer All against the same moves on tables with a primary key and an owner index only.
FLOOR_TARGET_RATIO = 3.0
FLOOR_STRETCH_RATIO = 2.0
TOTAL_USERS = 2_000
PC_OWNED_CLIENTS = 950
PC_HELD_CLIENTS = 50
PC_RECIPIENTS = 10

# Query budgets: the most queries a row may run, whatever the data size.
PAGE_BUDGET = 20
TRANSFER_ALL_BUDGET = 60
PER_CLIENT_BUDGET = 60 + 10 * PC_RECIPIENTS  # grows with the new users only
REVERT_BUDGET = 80


# ------------------------------------------------------------------ figures


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def row(key, label, seconds: list[float], queries: list[int], budget=None, note="") -> dict:
    return {
        "key": key,
        "label": label,
        "n": len(seconds),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "queries": max(queries),
        "budget": budget,
        "note": note,
    }


def progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", flush=True)


def timed_pages(client, pages, runs: int) -> list[dict]:
    """GET each (key, label, url, budget) `runs` times after one warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for key, label, url, budget in pages:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        size = len(response.content)
        seconds, queries = [], []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                client.get(url)
                seconds.append(time.perf_counter() - started)
            queries.append(len(captured.captured_queries))
        rows.append(row(key, label, seconds, queries, budget, f"{size / 1024:,.0f} KB"))
        progress(f"{label}: median {rows[-1]['median_ms']:.0f} ms, {rows[-1]['queries']} queries")
    return rows


# --------------------------------------------- transfers and pages section


def extra_load(others) -> tuple:
    """bench.pc linked to 1,000 clients, and users up to TOTAL_USERS."""
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from clients.models import Client, Matter
    from transfers.selectors import linked_client_ids
    from users import groups
    from users.models import User

    pc, created = User.objects.get_or_create(
        username="bench.pc",
        defaults={"first_name": "Paul", "last_name": "Perclient", "email": "pc@bench.local"},
    )
    if created:
        pc.set_unusable_password()
        pc.save()
        pc.groups.add(Group.objects.get(name=groups.ATTORNEYS))
    # An interrupted run may have left a per-client transfer unreverted.
    from transfers.models import Transfer
    from transfers.services import transfer_revert

    admin = User.objects.get(username="bench.admin")
    for left in Transfer.objects.filter(
        mode=Transfer.Mode.PER_CLIENT, from_user=pc, revert__isnull=True
    ):
        transfer_revert(acting_user=admin, transfer=left)
    if len(linked_client_ids(user=pc)) != PC_OWNED_CLIENTS + PC_HELD_CLIENTS:
        progress("building bench.pc's 1,000 linked clients ...")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO clients_client
                    (created_at, updated_at, number, name, kind, email, phone, address, status,
                     owner_id)
                SELECT now(), now(), 'PC-' || lpad(g::text, 5, '0'), 'Per-client client ' || g,
                       'organisation', '', '', '', 'active', %s
                FROM generate_series(1, %s) AS g
                """,
                [pc.pk, PC_OWNED_CLIENTS],
            )
            cursor.execute(
                """
                INSERT INTO clients_matter
                    (created_at, updated_at, client_id, number, title, practice_area, status,
                     owner_id)
                SELECT now(), now(), c.id, 'PCM-' || c.id || '-' || k, 'Matter ' || k,
                       'litigation', 'open', c.owner_id
                FROM clients_client c CROSS JOIN generate_series(1, 5) AS k
                WHERE c.owner_id = %s
                """,
                [pc.pk],
            )
            cursor.execute(
                """
                INSERT INTO clients_case
                    (created_at, updated_at, matter_id, client_id, number, caption, court,
                     status, owner_id)
                SELECT now(), now(), m.id, m.client_id, 'PCK-' || m.id || '-' || k,
                       'Case ' || k, 'High Court', 'open', m.owner_id
                FROM clients_matter m CROSS JOIN generate_series(1, 5) AS k
                WHERE m.owner_id = %s
                """,
                [pc.pk],
            )
            # Others' clients under which bench.pc holds one matter and its cases.
            held = list(
                Matter.objects.filter(owner_id__in=[u.pk for u in others])
                .order_by("client_id", "pk")
                .distinct("client_id")
                .values_list("pk", flat=True)[:PC_HELD_CLIENTS]
            )
            Matter.objects.filter(pk__in=held).update(owner=pc)
            cursor.execute(
                "UPDATE clients_case SET owner_id = %s WHERE matter_id = ANY(%s)", [pc.pk, held]
            )
    missing = TOTAL_USERS - User.objects.count()
    if missing > 0:
        progress(f"adding {missing:,} users ...")
        names = ["Adler", "Brandt", "Castillo", "Dubois", "Eriksen", "Ferreira", "Gallo"]
        users = [
            User(
                username=f"bench.staff{i:04d}",
                first_name=["Alice", "Ben", "Chloe", "David", "Emma"][i % 5],
                last_name=f"{names[i % len(names)]} {i:04d}",
                email=f"staff{i}@bench.local",
                password="!",
                is_active=i % 20 != 0,
            )
            for i in range(missing)
        ]
        with transaction.atomic():
            User.objects.bulk_create(users)
            by_group = {
                name: Group.objects.get(name=name)
                for name in (groups.ATTORNEYS, groups.PARALEGALS, groups.MANAGERS)
            }
            created_users = User.objects.filter(username__startswith="bench.staff")
            order = [groups.ATTORNEYS, groups.ATTORNEYS, groups.PARALEGALS, groups.MANAGERS]
            User.groups.through.objects.bulk_create(
                [
                    User.groups.through(user_id=user.pk, group_id=by_group[order[user.pk % 4]].pk)
                    for user in created_users
                ],
                ignore_conflicts=True,
            )
    return pc, Client.objects.filter(owner=pc).count()


def before_indexes_recreate(url: str) -> None:
    """Recreate the indexes the index budget dropped, for this run only: they
    are dropped again when the process ends, however it ends."""
    import atexit

    import indexes as indexes_bench  # benchmarks/indexes.py
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        recreated = indexes_bench.create_dropped_indexes(cursor)

    def drop() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in recreated:
                conn.execute(f'DROP INDEX IF EXISTS "{name}"')

    atexit.register(drop)
    progress(
        f"recreated the {len(recreated)} indexes the index budget dropped, for this run, "
        f"in {time.perf_counter() - started:.0f} s"
    )


def section_transfers_and_pages(args, want_transfers: bool, want_pages: bool) -> list[dict]:
    import transfer as transfer_bench  # benchmarks/transfer.py

    url = transfer_bench.bench_database_url()
    transfer_bench.ensure_database(url)
    # Settings that let django.test.Client in (testserver, plain HTTP), and
    # persistent connections, as a production server keeps them.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.test_settings")
    os.environ.setdefault("CONN_MAX_AGE", "600")
    transfer_bench.setup_django(url)
    if args.before_indexes:
        before_indexes_recreate(url)

    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from transfers.models import Transfer
    from transfers.selectors import linked_client_ids
    from transfers.services import (
        records_transfer_all,
        records_transfer_per_client,
        transfer_revert,
    )
    from users.models import User

    request_started.disconnect(reset_queries)  # keep the log, to count each page's queries
    old, new, others, admin = transfer_bench.users()
    transfer_bench.reset(old, new)
    built = False
    if not transfer_bench.load_present(old):
        transfer_bench.build_load(old, new, others)
        built = True
    pc, _ = extra_load(others)
    if built:
        transfer_bench.vacuum_analyze()
    rows: list[dict] = []

    if want_transfers:
        sql_times, service_times, service_queries, sql_queries = [], [], [], []
        floor_times, floor_queries = [], []

        def by_sql(src, dst):
            transfer_bench.prepare(src, dst)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                moved = transfer_bench.sql_transfer_all(admin, src, dst)
                sql_times.append(time.perf_counter() - started)
            sql_queries.append(len(captured.captured_queries))
            progress(
                f"SQL      {src.username} -> {dst.username}: {moved:,} records, "
                f"{sql_times[-1]:.2f} s"
            )

        def by_service(src, dst):
            transfer_bench.prepare(src, dst)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                done = records_transfer_all(acting_user=admin, old_user=src, new_user=dst).transfer
                service_times.append(time.perf_counter() - started)
            service_queries.append(len(captured.captured_queries))
            progress(
                f"service  {src.username} -> {dst.username}: {done.record_count:,} records, "
                f"{service_times[-1]:.2f} s, {service_queries[-1]} queries"
            )

        constrained_times, constrained_queries = [], []

        def by_floor(src, dst, schema, times, queries):
            transfer_bench.prepare(src, dst, schema=schema)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                moved = transfer_bench.sql_transfer_all(admin, src, dst, schema=schema)
                times.append(time.perf_counter() - started)
            queries.append(len(captured.captured_queries))
            progress(
                f"{schema:<8} {src.username} -> {dst.username}: {moved:,} records, "
                f"{times[-1]:.2f} s (the same SQL on lean copies)"
            )

        def floors(src, dst):
            by_floor(src, dst, transfer_bench.LEAN_SCHEMA, floor_times, floor_queries)
            by_floor(
                src,
                dst,
                transfer_bench.CONSTRAINED_SCHEMA,
                constrained_times,
                constrained_queries,
            )

        # The floor: the same SQL on copies of the tables carrying only a
        # primary key and an owner index, built here so they hold the same
        # rows; and copies that keep the tables' constraints, for comparison.
        transfer_bench.lean_copies_build(transfer_bench.LEAN_SCHEMA)
        transfer_bench.lean_copies_build(transfer_bench.CONSTRAINED_SCHEMA, constraints=True)
        print("Transfer All: service against hand-written SQL and the lean floor", flush=True)
        # Each round moves everything one way with each of them, in an order
        # that alternates, so that all start from the same state.
        for number in range(1, args.rounds + 1):
            if number % 2:
                floors(old, new)
                by_sql(old, new)
                by_service(new, old)
            else:
                by_service(old, new)
                by_sql(new, old)
                floors(new, old)
        transfer_bench.lean_copies_drop(transfer_bench.LEAN_SCHEMA)
        transfer_bench.lean_copies_drop(transfer_bench.CONSTRAINED_SCHEMA)
        ratio = statistics.median(service_times) / statistics.median(sql_times)
        floor_ratio = statistics.median(service_times) / statistics.median(floor_times)
        records = 10_000 + 50_000 + 250_000
        constrained_ratio = statistics.median(service_times) / statistics.median(constrained_times)
        rows.append(
            row(
                "transfer_all_floor",
                f"Transfer All, lean floor ({records:,} records)",
                floor_times,
                floor_queries,
                note="same SQL; tables with a primary key and an owner index only",
            )
        )
        rows.append(
            row(
                "transfer_all_floor_constrained",
                f"Transfer All, lean copies with constraints ({records:,} records)",
                constrained_times,
                constrained_queries,
                note=(
                    "the floor plus the tables' foreign keys and checks; "
                    f"service / this {constrained_ratio:.2f}"
                ),
            )
        )
        rows.append(
            row(
                "transfer_all_sql",
                f"Transfer All, hand-written SQL ({records:,} records)",
                sql_times,
                sql_queries,
            )
        )
        rows.append(
            row(
                "transfer_all_service",
                f"Transfer All, service ({records:,} records)",
                service_times,
                service_queries,
                TRANSFER_ALL_BUDGET,
                f"ratio to SQL {ratio:.2f} (target <= {TARGET_RATIO}); "
                f"to floor {floor_ratio:.2f} (target <= {FLOOR_TARGET_RATIO:g}, "
                f"stretch {FLOOR_STRETCH_RATIO:g})",
            )
        )
        rows[-1]["ratio"] = round(ratio, 3)
        rows[-1]["floor_ratio"] = round(floor_ratio, 3)
        print(
            f"Transfer All, medians of {args.rounds}: lean floor "
            f"{statistics.median(floor_times):.2f} s, service "
            f"{statistics.median(service_times):.2f} s, ratio {floor_ratio:.2f} "
            f"(target <= {FLOOR_TARGET_RATIO:g}, stretch {FLOOR_STRETCH_RATIO:g})",
            flush=True,
        )

        print(f"Per client: bench.pc's 1,000 clients to {PC_RECIPIENTS} users, then revert")
        recipients = others[:PC_RECIPIENTS]
        per_times, per_queries, rev_times, rev_queries = [], [], [], []
        for _ in range(args.rounds):
            client_ids = sorted(linked_client_ids(user=pc))
            assignments = {
                client_id: recipients[i % len(recipients)] for i, client_id in enumerate(client_ids)
            }
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                done = records_transfer_per_client(
                    acting_user=admin,
                    old_user=pc,
                    assignments=assignments,
                    expected_client_ids=client_ids,
                ).transfer
                per_times.append(time.perf_counter() - started)
            per_queries.append(len(captured.captured_queries))
            progress(
                f"per client: {done.record_count:,} records, {per_times[-1]:.2f} s, "
                f"{per_queries[-1]} queries"
            )
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                back = transfer_revert(acting_user=admin, transfer=done).transfer
                rev_times.append(time.perf_counter() - started)
            rev_queries.append(len(captured.captured_queries))
            progress(
                f"revert:     {back.record_count:,} records, {rev_times[-1]:.2f} s, "
                f"{rev_queries[-1]} queries"
            )
        rows.append(
            row(
                "per_client",
                f"User Transfer, 1,000 clients to {PC_RECIPIENTS} users "
                f"({done.record_count:,} records)",
                per_times,
                per_queries,
                PER_CLIENT_BUDGET,
            )
        )
        rows.append(
            row(
                "revert",
                f"Revert of that transfer ({back.record_count:,} records)",
                rev_times,
                rev_queries,
                REVERT_BUDGET,
            )
        )

    if want_pages:
        print(f"Pages ({User.objects.count():,} users)", flush=True)
        # The transfers above rewrote 300,000 rows: pages are measured on tables
        # as autovacuum leaves them (visibility map set, statistics fresh).
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "VACUUM ANALYZE users_user, clients_client, clients_matter, clients_case, "
                + ", ".join(transfer_bench.SHARE_TABLES)
                + ", transfers_transfer, transfers_transferrecipient, "
                "transfers_transferredrecord"
            )
        progress(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
        browser = TestClient()
        browser.force_login(admin)
        receipt = Transfer.objects.filter(mode=Transfer.Mode.ALL).order_by("-pk").first()
        pages = [
            (
                "user_list",
                "User Registration, 2,000 users",
                reverse("users:user_list"),
                PAGE_BUDGET,
            ),
            (
                "user_list_search",
                "User Registration, search",
                reverse("users:user_list") + "?q=Brandt",
                PAGE_BUDGET,
            ),
            (
                "user_list_last",
                "User Registration, last page",
                reverse("users:user_list") + "?page=last",
                PAGE_BUDGET,
            ),
            (
                "transfer_per_client_form",
                "User Transfer form, 1,000 linked clients",
                reverse("transfers:transfer_per_client", args=[pc.pk]),
                PAGE_BUDGET,
            ),
            (
                "transfer_all_form",
                "User Transfer All form, 310,000 records",
                reverse("transfers:transfer_all", args=[old.pk]),
                PAGE_BUDGET,
            ),
        ]
        if receipt is not None:
            pages.append(
                (
                    "transfer_receipt",
                    f"Receipt of a Transfer All ({receipt.record_count:,} records)",
                    reverse("transfers:transfer_detail", args=[receipt.pk]),
                    PAGE_BUDGET,
                )
            )
        pages.append(
            ("transfer_list", "Transfer History", reverse("transfers:transfer_list"), PAGE_BUDGET)
        )
        rows += timed_pages(browser, pages, args.runs)
    return rows


# ------------------------------------------------------------ grids section


def section_grids(args) -> list[dict]:
    import grids as grids_bench  # benchmarks/grids.py
    import indexes as indexes_bench  # benchmarks/indexes.py

    url = os.environ.get("BENCH_GRIDS_DATABASE_URL", grids_bench.DEFAULT_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("The grid benchmark needs PostgreSQL (BENCH_GRIDS_DATABASE_URL).")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.test_settings")
    os.environ.setdefault("CONN_MAX_AGE", "600")
    grids_bench.database_ensure(url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    grids_bench.data_load()

    from django.core.signals import request_started
    from django.db import reset_queries
    from django.test import Client as TestClient

    from users.models import User

    request_started.disconnect(reset_queries)
    manager = User.objects.get(username="bench.manager")
    attorney = User.objects.get(username="bench.owner001")
    other_owner = User.objects.get(username="bench.owner005")

    def measure() -> list[dict]:
        rows = []
        for who, user, owner_id in (
            ("manager", manager, other_owner.pk),
            ("attorney", attorney, attorney.pk),
        ):
            browser = TestClient()
            browser.force_login(user)
            pages = []
            for name, path in grids_bench.grid_urls(owner_id):
                if args.match and args.match not in path:
                    continue
                grid = path.split("?")[0].strip("/")
                pages.append(
                    (f"grid_{who}_{path}", f"{grid} grid, {name} ({who})", path, PAGE_BUDGET)
                )
            rows += timed_pages(browser, pages, args.runs)
        return rows

    print("Record grids (100,000 clients, 500,000 matters, 2,500,000 cases)", flush=True)
    rows = measure()
    if args.no_before:
        return rows
    from django.db import connection, transaction

    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            recreated = indexes_bench.create_dropped_indexes(cursor)
        if not recreated:
            print("The indexes the budget dropped are all present: no before pass.")
            return rows
        print(
            f"The same grids before the index budget ({len(recreated)} indexes recreated "
            f"in {time.perf_counter() - started:.0f} s, rolled back afterwards)",
            flush=True,
        )
        before = {item["key"]: item for item in measure()}
        transaction.set_rollback(True)
    for item in rows:
        earlier = before[item["key"]]
        item["before_median_ms"] = earlier["median_ms"]
        item["before_queries"] = earlier["queries"]
        change = (item["median_ms"] / earlier["median_ms"] - 1) * 100
        item["note"] += f"; before the index budget {earlier['median_ms']:,.1f} ms ({change:+.0f}%)"
    return rows


# ---------------------------------------------------- user transfer section

UT_BOOKS = (1_000, 5_000)
UT_ELIGIBLE = (200, 1_400)
UT_RECIPIENTS = 10
UT_PAGE_LIMIT_BYTES = 1_000_000  # at 1,000 clients x 200 eligible users (PRODUCT.md)
UT_LOAD_LIMIT_MS = 2_000  # the same page, loaded in headless Chromium
UT_SAVE_BUDGET = 60 + 10 * UT_RECIPIENTS


def user_transfer_database_url() -> str:
    from urllib.parse import urlsplit, urlunsplit

    import transfer as transfer_bench  # benchmarks/transfer.py

    explicit = os.environ.get("BENCH_USER_TRANSFER_DATABASE_URL")
    if explicit:
        return explicit
    parts = urlsplit(transfer_bench.bench_database_url())
    return urlunsplit((parts.scheme, parts.netloc, "/casengine_bench_user_transfer", "", ""))


def user_transfer_load():
    """The leavers, their books and 1,400 eligible users (built once)."""
    from django.contrib.auth.models import Group
    from django.db import transaction

    from clients.models import Case, Client, Matter
    from users import groups
    from users.models import User

    attorneys = Group.objects.get(name=groups.ATTORNEYS)

    def ensure(username, first, last, group):
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "password": "!"}
        )
        if created:
            user.groups.add(group)
        return user

    admin = ensure("bench.ut.admin", "Ada", "Admin", Group.objects.get(name=groups.ADMINISTRATORS))
    leavers = {
        size: ensure(f"bench.ut{size}", "Leaver", f"of {size:,}", attorneys) for size in UT_BOOKS
    }
    missing = max(UT_ELIGIBLE) - User.objects.filter(username__startswith="bench.ut.staff").count()
    if missing > 0:
        progress(f"adding {missing:,} eligible users ...")
        names = ["Adler", "Brandt", "Castillo", "Dubois", "Eriksen", "Ferreira", "Gallo"]
        with transaction.atomic():
            made = User.objects.bulk_create(
                [
                    User(
                        username=f"bench.ut.staff{i:04d}",
                        first_name=["Alice", "Ben", "Chloe", "David", "Emma"][i % 5],
                        last_name=f"{names[i % len(names)]} {i:04d}",
                        password="!",
                    )
                    for i in range(missing)
                ]
            )
            attorneys.user_set.add(*made)
    for size, leaver in leavers.items():
        if Client.objects.filter(owner=leaver).count() == size:
            continue
        progress(f"building the book of {size:,} clients ...")
        with transaction.atomic():
            clients = Client.objects.bulk_create(
                [
                    Client(
                        number=f"UT{size}-{i:05d}",
                        name=f"Client {i:05d} of {size:,}",
                        owner=leaver,
                    )
                    for i in range(size)
                ],
                batch_size=2000,
            )
            matters = Matter.objects.bulk_create(
                [
                    Matter(client=c, number=f"M-{c.number}", title="Matter", owner=leaver)
                    for c in clients
                ],
                batch_size=2000,
            )
            Case.objects.bulk_create(
                [
                    Case(
                        matter=m,
                        client=m.client,
                        number=f"K-{m.number}-{k}",
                        caption="Case",
                        owner=leaver,
                    )
                    for m in matters
                    for k in range(2)
                ],
                batch_size=2000,
            )
    return admin, leavers


def set_eligible(count: int) -> None:
    """Keep `count` of the staff in the Attorneys group (the rest: none)."""
    from django.contrib.auth.models import Group

    from users import groups
    from users.models import User

    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    staff = list(
        User.objects.filter(username__startswith="bench.ut.staff")
        .order_by("username")
        .values_list("pk", flat=True)
    )
    through = User.groups.through
    through.objects.filter(user_id__in=staff, group=attorneys).delete()
    through.objects.bulk_create(
        [through(user_id=pk, group_id=attorneys.pk) for pk in staff[:count]]
    )


def chromium_load_times(url_path: str, cookie: tuple[str, str], runs: int) -> list[float] | None:
    """Seconds from navigation to the load event of `url_path` in headless
    Chromium, served by a threaded WSGI server; None without Playwright or a
    Chromium binary."""
    import shutil
    import threading
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    executable = os.environ.get("CHROMIUM_PATH") or next(
        (
            path
            for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser")
            if Path(path).exists()
        ),
        shutil.which("chromium"),
    )
    if not executable:
        return None
    from django.core.wsgi import get_wsgi_application

    class ThreadingServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server(
        "127.0.0.1",
        0,
        get_wsgi_application(),
        server_class=ThreadingServer,
        handler_class=QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    times = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context()
            context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": base}])
            page = context.new_page()
            page.goto(base + url_path)  # warm-up
            for _ in range(runs):
                started = time.perf_counter()
                page.goto(base + url_path, wait_until="load")
                times.append(time.perf_counter() - started)
            browser.close()
    finally:
        server.shutdown()
    return times


def section_user_transfer(args) -> list[dict]:
    import transfer as transfer_bench  # benchmarks/transfer.py

    url = user_transfer_database_url()
    transfer_bench.ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.test_settings")
    os.environ.setdefault("CONN_MAX_AGE", "600")
    transfer_bench.setup_django(url)

    from urllib.parse import urlencode

    from django.conf import settings
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from transfers.forms import user_reference
    from transfers.models import Transfer
    from transfers.selectors import linked_client_ids
    from transfers.services import transfer_revert
    from users.models import User
    from users.selectors import eligible_owners

    request_started.disconnect(reset_queries)
    admin, leavers = user_transfer_load()
    # An interrupted run may have left a transfer unreverted.
    for left in Transfer.objects.filter(
        mode=Transfer.Mode.PER_CLIENT, from_user__in=leavers.values(), revert__isnull=True
    ):
        transfer_revert(acting_user=admin, transfer=left)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE users_user, clients_client, clients_matter, clients_case")
    browser = TestClient()
    browser.force_login(admin)
    rows: list[dict] = []
    print("User Transfer page, Save, Distribute and Preview", flush=True)
    for eligible in UT_ELIGIBLE:
        # The other leaver is eligible too: the staff make up the rest.
        set_eligible(eligible - 1)
        pages = []
        for size, leaver in leavers.items():
            shown = eligible_owners().exclude(pk=leaver.pk).count()
            key = f"user_transfer_page_{size}x{eligible}"
            label = f"User Transfer page, {size:,} clients x {shown:,} eligible users"
            path = reverse("transfers:transfer_per_client", args=[leaver.pk])
            pages.append((key, label, path, PAGE_BUDGET))
        page_rows = timed_pages(browser, pages, args.runs)
        for item in page_rows:
            item["bytes"] = len(browser.get(pages[page_rows.index(item)][2]).content)
            item["note"] = f"{item['bytes']:,} bytes"
            if item["key"] == f"user_transfer_page_{UT_BOOKS[0]}x{UT_ELIGIBLE[0]}":
                item["limit_bytes"] = UT_PAGE_LIMIT_BYTES
                item["note"] += f" (limit {UT_PAGE_LIMIT_BYTES:,})"
        rows += page_rows

    set_eligible(UT_ELIGIBLE[0] - 1)
    small, big = (leavers[size] for size in UT_BOOKS)
    cookie = (settings.SESSION_COOKIE_NAME, browser.cookies[settings.SESSION_COOKIE_NAME].value)
    load_times = chromium_load_times(
        reverse("transfers:transfer_per_client", args=[small.pk]), cookie, args.runs
    )
    if load_times is None:
        progress("headless Chromium: Playwright or Chromium not installed, row skipped")
    else:
        item = row(
            "user_transfer_chromium_load",
            f"User Transfer page in headless Chromium, {UT_BOOKS[0]:,} x {UT_ELIGIBLE[0]}: load",
            load_times,
            [0],
            note=f"limit {UT_LOAD_LIMIT_MS:,} ms",
        )
        item["limit_ms"] = UT_LOAD_LIMIT_MS
        rows.append(item)
        progress(f"{item['label']}: median {item['median_ms']:.0f} ms")

    path = reverse("transfers:transfer_per_client", args=[big.pk])
    recipients = list(
        User.objects.filter(username__startswith="bench.ut.staff").order_by("username")[
            :UT_RECIPIENTS
        ]
    )
    client_ids = sorted(linked_client_ids(user=big))
    form = {
        "client_ids": ",".join(map(str, client_ids)),
        "distribute_mode": "workload",
    }

    def timed_post(body) -> tuple[float, int, object]:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = browser.post(
                path, urlencode(body, doseq=True), content_type="application/x-www-form-urlencoded"
            )
            seconds = time.perf_counter() - started
        return seconds, len(captured.captured_queries), response

    for action, label, shows in (
        (
            "distribute",
            f"Distribute {len(client_ids):,} clients among {UT_RECIPIENTS} users",
            b"Proposal: each chosen user",
        ),
        (
            "preview",
            f"Preview (dry run) of {len(client_ids):,} clients to {UT_RECIPIENTS} users",
            b"Preview: what Save would move",
        ),
    ):
        body = dict(form, action=action, distribute_to=[str(u.pk) for u in recipients])
        for i, client_id in enumerate(client_ids):
            body[f"client-{client_id}"] = user_reference(recipients[i % UT_RECIPIENTS])
        times, queries = [], []
        for _ in range(args.rounds):
            seconds, count, response = timed_post(body)
            if response.status_code != 200 or shows not in response.content:
                raise SystemExit(f"{action} failed ({response.status_code})")
            times.append(seconds)
            queries.append(count)
        rows.append(row(f"user_transfer_{action}", label, times, queries, UT_SAVE_BUDGET))
        progress(f"{label}: median {rows[-1]['median_ms']:.0f} ms")

    save_times, save_queries = [], []
    for number in range(args.rounds):
        body = dict(form, action="save", request_key=str(uuid.uuid4()))
        for i, client_id in enumerate(client_ids):
            body[f"client-{client_id}"] = user_reference(recipients[i % UT_RECIPIENTS])
        body["selected"] = [str(pk) for pk in client_ids]  # every row ticked: 10,000+ fields
        seconds, count, response = timed_post(body)
        if response.status_code != 302:
            raise SystemExit(f"Save failed: {response.status_code}")
        save_times.append(seconds)
        save_queries.append(count)
        done = Transfer.objects.order_by("-pk").first()
        progress(
            f"Save {number + 1}: {done.record_count:,} records, {seconds:.2f} s, {count} queries"
        )
        transfer_revert(acting_user=admin, transfer=done)
    rows.append(
        row(
            "user_transfer_save_5000",
            f"User Transfer Save, {len(client_ids):,} clients to {UT_RECIPIENTS} users "
            f"({done.record_count:,} records, through the view)",
            save_times,
            save_queries,
            UT_SAVE_BUDGET,
        )
    )
    return rows


# ------------------------------------------------------------------ report


def machine() -> dict:
    import psycopg

    memory = ""
    try:
        with open("/proc/meminfo") as meminfo:
            kib = int(meminfo.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    server = os.environ.get("DATABASE_URL") or "postgres://root@127.0.0.1:5432"
    server = server.rsplit("/", 1)[0] + "/postgres" if server.count("/") > 2 else server
    try:
        with psycopg.connect(server) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        version = "unknown"
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "postgresql": version,
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def budget_text(item: dict) -> str:
    if item.get("limit_bytes") is not None and item["bytes"] > item["limit_bytes"]:
        return "BYTES"
    if item.get("limit_ms") is not None and item["median_ms"] > item["limit_ms"]:
        return "SLOW"
    if item.get("budget") is None and (item.get("limit_ms") or item.get("limit_bytes")):
        return "ok"
    if item.get("ratio") is not None:
        if item["ratio"] > TARGET_RATIO:
            return "RATIO"
        if item.get("floor_ratio") is not None and item["floor_ratio"] > FLOOR_TARGET_RATIO:
            return "FLOOR"
        return "ok"
    if item.get("budget") is None:
        return ""
    return "ok" if item["queries"] <= item["budget"] else "QUERIES"


def print_table(rows: list[dict], previous: dict | None) -> None:
    width = max(len(item["label"]) for item in rows)
    header = f"{'benchmark':<{width}} {'n':>3} {'median ms':>10} {'p95 ms':>10} {'queries':>7}"
    header += f" {'target':>7}  note"
    if previous:
        header += "  | change (median, queries)"
    print(header)
    print("-" * len(header))
    for item in rows:
        line = (
            f"{item['label']:<{width}} {item['n']:>3} {item['median_ms']:>10,.1f} "
            f"{item['p95_ms']:>10,.1f} {item['queries']:>7} {budget_text(item):>7}  {item['note']}"
        )
        if previous:
            before = previous.get(item["key"])
            if before is None:
                line += "  | new"
            else:
                change = (item["median_ms"] / before["median_ms"] - 1) * 100
                line += (
                    f"  | {change:+.0f}% ({before['median_ms']:,.1f} ms), "
                    f"{item['queries'] - before['queries']:+d} queries"
                )
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="sections, comma-separated: " + ", ".join(SECTIONS),
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="transfers: timed calls of each kind (default 3)"
    )
    parser.add_argument("--runs", type=int, default=7, help="pages: timed GETs each (default 7)")
    parser.add_argument("--match", default="", help="grids: only URLs containing this text")
    parser.add_argument(
        "--no-before",
        action="store_true",
        help="grids: skip the pass with the indexes the index budget dropped",
    )
    parser.add_argument(
        "--before-indexes",
        action="store_true",
        help="transfers and pages: run with the indexes the index budget dropped, recreated "
        "for the run (the figures before the budget)",
    )
    parser.add_argument("--output", help="JSON file (default bench-results/bench-<date>.json)")
    parser.add_argument("--compare", help="an earlier JSON file to compare with")
    parser.add_argument("--section", help=argparse.SUPPRESS)
    parser.add_argument("--section-output", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.section:  # a child process: one database, one Django set-up
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        if args.section == "grids":
            rows = section_grids(args)
        elif args.section == "user_transfer":
            rows = section_user_transfer(args)
        else:
            wanted = set(args.section.split("+"))
            rows = section_transfers_and_pages(args, "transfers" in wanted, "pages" in wanted)
        Path(args.section_output).write_text(json.dumps(rows))
        return 0

    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    previous = None
    if args.compare:
        previous = {
            item["key"]: item for item in json.loads(Path(args.compare).read_text())["rows"]
        }

    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    children = []
    first = "+".join(name for name in ("transfers", "pages") if name in chosen)
    if first:
        children.append(first)
    if "grids" in chosen:
        children.append("grids")
    if "user_transfer" in chosen:
        children.append("user_transfer")
    rows: list[dict] = []
    for section in children:
        print(f"== {section.replace('+', ' and ')}", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as output:
            command = [sys.executable, __file__, "--section", section]
            command += ["--section-output", output.name, "--rounds", str(args.rounds)]
            command += ["--runs", str(args.runs), "--match", args.match]
            command += ["--no-before"] if args.no_before else []
            command += ["--before-indexes"] if args.before_indexes else []
            result = subprocess.run(command, cwd=ROOT)
            if result.returncode != 0:
                print(f"The {section} section failed (exit {result.returncode})", file=sys.stderr)
                return result.returncode
            rows += json.loads(Path(output.name).read_text())

    info = machine()
    info["load_average_before"] = load_before
    info["seconds"] = round(time.perf_counter() - started)
    print()
    print(
        f"CaseEngine benchmark, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC: "
        f"{info['cores']} cores, {info['memory']}, PostgreSQL {info['postgresql']}, "
        f"load average {info['load_average_before'][0]} before / {info['load_average'][0]} after, "
        f"{info['seconds']} s"
    )
    print_table(rows, previous)

    path = (
        Path(args.output)
        if args.output
        else ROOT
        / "bench-results"
        / (f"bench-{datetime.datetime.now(datetime.UTC):%Y-%m-%d-%H%M}.json")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": info, "rows": rows}, indent=2) + "\n")
    print(f"\nFigures written to {path}")
    missed = [item["label"] for item in rows if budget_text(item) not in ("", "ok")]
    if missed:
        print("Targets missed: " + "; ".join(missed))
        return 1
    print(
        f"All targets met (service within {TARGET_RATIO:g}x of SQL and {FLOOR_TARGET_RATIO:g}x "
        "of the lean floor; every row within its query budget)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
