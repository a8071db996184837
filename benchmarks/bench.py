"""make bench: CaseEngine's hot paths at the reference scale of PRODUCT.md, on PostgreSQL.
One table of median, p95 and query count per row, also saved to bench-results/.

    make bench BENCH_ARGS="[--only transfers,pages,grids,user_transfer,background]
        [--rounds 3] [--runs 7] [--no-before] [--before-indexes] [--output FILE]"

Each section runs in a process of its own, on a database built on its first run and then
reused (README, Performance). Exits non-zero when a target is missed: service / SQL above
1.5, service / lean copies with constraints above 2 (the lean floor is shown, not a target:
its tables have neither the owner foreign keys nor the indexes the grids need), a row above
its query budget, size or time limit."""

import argparse
import atexit
import datetime
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import common
from common import ROOT, measured, progress, row, service, signed_in, timed_pages
from django.conf import settings
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import connection, transaction
from django.test.testcases import LiveServerThread
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import sync_playwright

SECTIONS = ("transfers", "pages", "grids", "user_transfer", "background")
TARGET_RATIO, CONSTRAINED_TARGET_RATIO = 1.5, 2.0
RECIPIENTS, OLD_CLIENTS, RECORDS = 10, 10_000, 560_000
# Query budgets: the most queries a row may run, whatever the data size.
PAGE_BUDGET, TRANSFER_ALL_BUDGET, REVERT_BUDGET = 20, 60, 80
SAVE_BUDGET = 60 + 10 * RECIPIENTS  # grows with the new users only
# Every owned record type a Transfer All moves: bench.old holds about one deadline per case.
KINDS = ("client", "matter", "case", "deadline")
OWNED = tuple(f"clients_{kind}" for kind in KINDS)
SHARES = tuple(f"clients_{kind}userobjectpermission" for kind in KINDS)
RECEIPTS = ("transfers_transferredrecord", "transfers_transferrecipient", "transfers_transfer")
LEAN, CONSTRAINED = "lean", "lean_constrained"  # the schemas of the copies of the tables
UT_BOOKS, UT_ELIGIBLE = (1_000, 5_000), (200, 1_400)
UT_PAGE_LIMIT_BYTES = 1_000_000  # at 1,000 clients x 200 eligible users (PRODUCT.md)
UT_LOAD_LIMIT_MS = 2_000  # the same page, loaded in headless Chromium
BEFORE_BUDGET = ("clients", "0003_grid_sort_indexes")  # the last migration before it
FORM_TYPE = "application/x-www-form-urlencoded"


def schema_before_budget() -> None:
    """The clients tables as they were before the index budget, by migrating back: in the
    caller's transaction, rolled back with it, or else migrated forward when the process
    ends (and by the next run's migrate if it is killed)."""
    started = time.perf_counter()
    call_command("migrate", *BEFORE_BUDGET, verbosity=0)
    if not connection.in_atomic_block:
        atexit.register(call_command, "migrate", verbosity=0)
    connection.cursor().execute("ANALYZE " + ", ".join(OWNED))
    progress(
        f"clients migrated back to {BEFORE_BUDGET[1]} in {time.perf_counter() - started:.0f} s"
    )


@functools.cache  # once for transfers and pages, which share a process
def reference_load(before_indexes: bool = False):
    """Django on the reference load (casengine_bench, BENCH_DATABASE_URL), built on the first
    run: bench.old owns 10,000 clients, 50,000 matters, 250,000 cases and a deadline on each
    (nearly all open) among ten times as many of ten others, with shares; bench.pc is linked
    to 1,000 clients (950 its own, 50 others' where it holds a matter and its cases); 2,000
    users. bench.old holds it all."""
    common.django_setup("casengine_bench", "BENCH_DATABASE_URL")
    from django.contrib.auth.models import Permission

    from clients.demo import bulk_records_generate, bulk_users_ensure
    from clients.models import Case, Deadline, Matter
    from transfers.engine.holdings import linked_client_ids
    from transfers.models import Transfer
    from users.groups import ADMINISTRATORS, ATTORNEYS, MANAGERS, PARALEGALS

    names = ("old", "new", "pc", *(f"other{i}" for i in range(10)))
    old, new, pc, *others = bulk_users_ensure([f"bench.{name}" for name in names], [ATTORNEYS])
    [admin] = bulk_users_ensure(["bench.admin"], [ADMINISTRATORS])
    if Case.objects.filter(owner=new).exists():  # an interrupted run, or the background one
        sql_transfer_all(admin, new, old)
    held = (Case.objects.filter(owner=old).count(), Deadline.objects.filter(owner=old).count())
    if held != (OLD_CLIENTS * 25, OLD_CLIENTS * 25):  # a database built before deadlines too
        with transaction.atomic(), connection.cursor() as cursor:
            for table in (*RECEIPTS, *SHARES, *reversed(OWNED)):
                cursor.execute(f"DELETE FROM {table}")
            # 10,000 clients each, in turn, a deadline on every case
            bulk_records_generate(owners=[old, *others], clients=OLD_CLIENTS * 11)
            counts = (2_000, 5_000, 10_000, 10_000)
            for kind, share, count in zip(KINDS, SHARES, counts, strict=True):
                cursor.execute(
                    f"INSERT INTO {share} (content_object_id, permission_id, user_id) SELECT id, "
                    f"%s, %s FROM clients_{kind} WHERE owner_id <> %s ORDER BY id LIMIT {count}",
                    [Permission.objects.get(codename=f"view_{kind}").pk, old.pk, old.pk],
                )
            cursor.execute(
                f"INSERT INTO {SHARES[2]} (content_object_id, permission_id, user_id) SELECT id,"
                " %s, (%s::bigint[])[1 + (id + 3) %% 10] FROM clients_case WHERE owner_id <> %s "
                "ORDER BY id DESC LIMIT 50000",
                [Permission.objects.get(codename="change_case").pk, [u.pk for u in others], old.pk],
            )
        common.vacuum_analyze()
    for left in Transfer.objects.filter(mode="per_client", from_user=pc, revert__isnull=True):
        service("transfer_revert", acting_user=admin, transfer=left)  # an interrupted run
    if len(linked_client_ids(user=pc)) != 1_000:
        bulk_records_generate(owners=[pc], clients=950)
        held = Matter.objects.filter(owner__in=others).order_by("client_id", "pk")
        held = list(held.distinct("client_id").values_list("pk", flat=True)[:50])
        Matter.objects.filter(pk__in=held).update(owner=pc)
        Case.objects.filter(matter_id__in=held).update(owner=pc)
    staff = [f"bench.staff{i:04d}" for i in range(2_000 - len(names) - 1)]
    bulk_users_ensure(staff, [ATTORNEYS, ATTORNEYS, PARALEGALS, MANAGERS], inactive_every=20)
    if before_indexes:
        schema_before_budget()
    return old, new, others, admin, pc


def sql_transfer_all(actor, old, new, schema: str = "public") -> int:
    """What records_transfer_all writes, as plain SQL in one transaction, on the tables of
    `schema` (the copies of the tables, first on the search path)."""
    now, counts, shares = timezone.now(), [], 0
    receipt = (
        "INSERT INTO transfers_transferredrecord (transfer_id, record_type, record_id, "
        "permission_id, share_merged, from_user_id, to_user_id) SELECT %s, %s, "
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if schema != "public":
            cursor.execute(f"SET LOCAL search_path TO {schema}, public")
        cursor.execute(
            "INSERT INTO transfers_transfer (created_at, mode, actor_id, actor_name, "
            "from_user_id, from_user_name, deactivated_from_user, reactivated_user, "
            "counts, skipped_count) "
            "VALUES (%s, 'all', %s, %s, %s, %s, false, false, '{}', 0) RETURNING id",
            [now, actor.pk, actor.full_name, old.pk, old.full_name],
        )
        transfer = cursor.fetchone()[0]
        for kind, table in zip(KINDS, OWNED, strict=True):
            cursor.execute(
                f"{receipt} id, NULL, false, %s, %s FROM {table} WHERE owner_id = %s",
                [transfer, kind, old.pk, new.pk, old.pk],
            )
            cursor.execute(
                f"UPDATE {table} SET owner_id = %s, updated_at = %s WHERE owner_id = %s",
                [new.pk, now, old.pk],
            )
            counts.append(cursor.rowcount)
        for kind, share in zip(KINDS, SHARES, strict=True):
            held = (
                f"EXISTS (SELECT 1 FROM {share} d WHERE d.user_id = %s AND d.content_object_id"
                f" = {share}.content_object_id AND d.permission_id = {share}.permission_id)"
            )
            cursor.execute(
                f"{receipt} content_object_id, permission_id, {held}, %s, %s FROM {share} "
                "WHERE user_id = %s",
                [transfer, f"{kind}_share", new.pk, old.pk, new.pk, old.pk],
            )
            shares += cursor.rowcount
            cursor.execute(f"DELETE FROM {share} WHERE user_id = %s AND {held}", [old.pk, new.pk])
            cursor.execute(f"UPDATE {share} SET user_id = %s WHERE user_id = %s", [new.pk, old.pk])
        moved = json.dumps({**dict(zip(KINDS, counts, strict=True)), "shares": shares})
        cursor.execute(
            "INSERT INTO transfers_transferrecipient (transfer_id, to_user_id, to_user_name, "
            "counts) VALUES (%s, %s, %s, %s::jsonb)",
            [transfer, new.pk, new.full_name, moved],
        )
        cursor.execute(
            "UPDATE transfers_transfer SET counts = %s::jsonb WHERE id = %s", [moved, transfer]
        )
    return sum(counts)


def prepare(src, dst, schema: str) -> None:
    """The same start before every timed transfer, untimed: empty receipt tables, `dst`
    holding 1,000 of `src`'s case shares, freshly vacuumed tables and a checkpoint."""
    receipts, shares = ", ".join(f"{schema}.{t}" for t in RECEIPTS), f"{schema}.{SHARES[2]}"
    tables = ", ".join(f"{schema}.{table}" for table in (*OWNED, *SHARES))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {receipts}")
        cursor.execute(
            f"INSERT INTO {shares} (content_object_id, permission_id, user_id) SELECT "
            f"s.content_object_id, s.permission_id, %s FROM {shares} s WHERE s.user_id = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {shares} d WHERE d.user_id = %s AND "
            "d.content_object_id = s.content_object_id AND d.permission_id = s.permission_id) "
            "ORDER BY s.content_object_id LIMIT 1000",
            [dst.pk, src.pk, dst.pk],
        )
        cursor.execute(f"VACUUM ANALYZE {tables}, {receipts}")
        cursor.execute("CHECKPOINT")


def lean_copies(schema: str, *, constraints: bool = False) -> None:
    """Copies in `schema` of every table a Transfer All writes, with the same rows and only a
    primary key and an owner index; with `constraints`, also the tables' checks, foreign
    keys (to the copies where the table is copied too) and owner triggers."""
    copied = (*OWNED, *SHARES, *RECEIPTS)
    owner_column = dict.fromkeys(OWNED, "owner_id") | dict.fromkeys(SHARES, "user_id")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        for table in copied:
            copy = f"{schema}.{table}"
            cursor.execute(
                f"CREATE TABLE {copy} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY)"
            )
            if table not in RECEIPTS:
                cursor.execute(f"INSERT INTO {copy} SELECT * FROM {table}")
            cursor.execute(f"ALTER TABLE {copy} ADD PRIMARY KEY (id)")
            if table in owner_column:
                cursor.execute(f"CREATE INDEX ON {copy} ({owner_column[table]})")
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)",
                [copy],
            )
        for table in copied if constraints else ():
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('c', 'f')",
                [f"public.{table}"],
            )
            for name, definition in cursor.fetchall():
                for target in copied:
                    definition = definition.replace(f"{target}(", f"{schema}.{target}(")
                # NOT VALID: enforced on every write, without a scan of the copy.
                cursor.execute(
                    f'ALTER TABLE {schema}.{table} ADD CONSTRAINT "{name}" {definition} NOT VALID'
                )
            cursor.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND NOT tgisinternal",
                [f"public.{table}"],
            )
            for (definition,) in cursor.fetchall():
                cursor.execute(definition.replace(f" ON public.{table} ", f" ON {schema}.{table} "))
    progress(f"copies of the tables in schema {schema}")


def section_transfers(args) -> list[dict]:
    old, new, others, admin, pc = reference_load(args.before_indexes)
    from transfers.engine.holdings import linked_client_ids

    def transfer_all(way, src, dst) -> int:
        if way == "service":
            arguments = {"acting_user": admin, "old_user": src, "new_user": dst}
            return service("records_transfer_all", **arguments).record_count
        return sql_transfer_all(admin, src, dst, "public" if way == "SQL" else way)

    lean_copies(LEAN)
    lean_copies(CONSTRAINED, constraints=True)
    timings = {way: [] for way in (LEAN, CONSTRAINED, "SQL", "service")}
    # Each round moves everything one way with each, in an order that alternates, so
    # that all start from the same state.
    rounds = (
        ((LEAN, old, new), (CONSTRAINED, old, new), ("SQL", old, new), ("service", new, old)),
        (("service", old, new), ("SQL", new, old), (LEAN, new, old), (CONSTRAINED, new, old)),
    )
    print("Transfer All: service against hand-written SQL and the lean floor", flush=True)
    for number in range(args.rounds):
        for way, src, dst in rounds[number % 2]:
            prepare(src, dst, way if way in (LEAN, CONSTRAINED) else "public")
            seconds, count, moved = measured(transfer_all, way, src, dst)
            timings[way].append((seconds, count))
            moves = f"{src.username} -> {dst.username}: {moved:,} records"
            progress(f"{way:<16} {moves}, {seconds:.2f} s, {count} queries")
    connection.cursor().execute(f"DROP SCHEMA {LEAN}, {CONSTRAINED} CASCADE")
    median = {way: statistics.median(s for s, _ in figures) for way, figures in timings.items()}
    ratio, floor_ratio = median["service"] / median["SQL"], median["service"] / median[LEAN]
    constrained_ratio = median["service"] / median[CONSTRAINED]
    label = f"Transfer All, %s ({RECORDS:,} records)"
    rows = [
        row("transfer_all_floor", label % "lean floor", timings[LEAN],
            note="same SQL; tables with a primary key and an owner index only"),
        row("transfer_all_floor_constrained", label % "lean copies with constraints",
            timings[CONSTRAINED], note="the floor plus the tables' foreign keys, checks and "
            f"triggers; service / this {constrained_ratio:.2f}"),
        row("transfer_all_sql", label % "hand-written SQL", timings["SQL"]),
        row("transfer_all_service", label % "service", timings["service"],
            TRANSFER_ALL_BUDGET, f"ratio to SQL {ratio:.2f} (target <= {TARGET_RATIO}); to "
            f"the lean copies with constraints {constrained_ratio:.2f} (target <= "
            f"{CONSTRAINED_TARGET_RATIO:g}); to the floor {floor_ratio:.2f}",
            ratio=round(ratio, 3), constrained_ratio=round(constrained_ratio, 3),
            floor_ratio=round(floor_ratio, 3)),
    ]  # fmt: skip

    by_name, moved = {"revert all": [], "per client": [], "revert": []}, {}

    def timed(name: str, kind: str, **arguments):
        seconds, count, done = measured(service, kind, acting_user=admin, **arguments)
        by_name[name].append((seconds, count))
        moved[name] = done.record_count
        progress(f"{name}: {done.record_count:,} records, {seconds:.2f} s, {count} queries")
        return done

    # Untimed Transfer All, then its revert: the receipts' statistics, fresh from prepare(),
    # do not know the transfer's rows yet, as in a firm's database minutes after a transfer.
    print("Revert of a Transfer All, right after it", flush=True)
    for _ in range(args.rounds):
        prepare(old, new, "public")
        done = service("records_transfer_all", acting_user=admin, old_user=old, new_user=new)
        timed("revert all", "transfer_revert", transfer=done)
    label = f"Revert of a Transfer All ({moved['revert all']:,} records), right after it"
    rows.append(row("transfer_all_revert", label, by_name["revert all"], REVERT_BUDGET))

    print(f"Per client: bench.pc's 1,000 clients to {RECIPIENTS} users, then revert")
    ids = sorted(linked_client_ids(user=pc))
    plan = {pk: others[i % RECIPIENTS] for i, pk in enumerate(ids)}
    move = {"old_user": pc, "assignments": plan, "expected_client_ids": ids}
    for _ in range(args.rounds):
        done = timed("per client", "records_transfer_per_client", **move)
        timed("revert", "transfer_revert", transfer=done)
    label = f"User Transfer, 1,000 clients to {RECIPIENTS} users ({moved['per client']:,} records)"
    rows.append(row("per_client", label, by_name["per client"], SAVE_BUDGET))
    label = f"Revert of that transfer ({moved['revert']:,} records)"
    return rows + [row("revert", label, by_name["revert"], REVERT_BUDGET)]


def section_pages(args) -> list[dict]:
    old, _, _, admin, pc = reference_load(args.before_indexes)
    from transfers.models import Transfer
    from users.models import User

    print(f"Pages ({User.objects.count():,} users)", flush=True)
    # The transfers above rewrote 300,000 rows: pages are measured on tables as
    # autovacuum leaves them (visibility map set, statistics fresh).
    common.vacuum_analyze("users_user", *OWNED, *SHARES, *RECEIPTS)
    users = reverse("users:user_list")
    pages = [
        ("user_list", "User Registration, 2,000 users", users),
        ("user_list_search", "User Registration, search", users + "?q=Brandt"),
        ("user_list_last", "User Registration, last page", users + "?page=last"),
        ("transfer_per_client_form", "User Transfer form, 1,000 linked clients",
         reverse("transfers:transfer_per_client", args=[pc.pk])),
        ("transfer_all_form", f"User Transfer All form, {RECORDS:,} records",
         reverse("transfers:transfer_all", args=[old.pk])),
    ]  # fmt: skip
    if receipt := Transfer.objects.filter(mode="all").order_by("-pk").first():
        label = f"Receipt of a Transfer All ({receipt.record_count:,} records)"
        pages += [("transfer_receipt", label, receipt.get_absolute_url())]
    pages += [("transfer_list", "Transfer History", reverse("transfers:transfer_list"))]
    return timed_pages(signed_in(admin), pages, args.runs, PAGE_BUDGET)


def section_grids(args) -> list[dict]:
    """The grid database (casengine_bench_grids, BENCH_GRIDS_DATABASE_URL), built on the
    first run: 100,000 clients, 500,000 matters, 2,500,000 cases among 200 owners, and a
    deadline on each case (added to a database built before deadlines)."""
    common.django_setup("casengine_bench_grids", "BENCH_GRIDS_DATABASE_URL")
    from clients.demo import bulk_deadlines_generate, bulk_records_generate, bulk_users_ensure
    from clients.models import Case, Deadline
    from users.groups import ATTORNEYS, MANAGERS, PARALEGALS
    from users.models import User

    if Case.objects.count() < 2_500_000:
        if Case.objects.exists():
            sys.exit("The grid database holds partial data: drop it and run again.")
        owners = [f"bench.owner{i:03d}" for i in range(1, 201)]
        owners = bulk_users_ensure(owners, [ATTORNEYS, ATTORNEYS, ATTORNEYS, PARALEGALS])
        bulk_users_ensure(["bench.manager"], [MANAGERS])
        bulk_users_ensure(["bench.former"], [ATTORNEYS], is_active=False)
        bulk_records_generate(owners=owners, clients=100_000, dealt=True)
        common.vacuum_analyze()
    if not Deadline.objects.exists():
        started = time.perf_counter()
        made = bulk_deadlines_generate()
        progress(f"{made:,} deadlines, one per case, in {time.perf_counter() - started:.0f} s")
        common.vacuum_analyze("clients_deadline")
    people = ("manager", "owner001", "owner005")
    users = {name: User.objects.get(username=f"bench.{name}") for name in people}
    viewers = (("manager", "manager", "owner005"), ("attorney", "owner001", "owner001"))
    grids = (
        ("clients", ("name", "kind", "status"), "Hoffmann", "active"),
        ("matters", ("title", "practice_area", "status"), "Acquisition", "closed"),
        ("cases", ("caption", "court", "status"), "Brandt", "closed"),
        ("deadlines", ("title", "kind", "-due_date"), "defence", "done"),
    )
    # What the Deadlines grid adds: its kinds and due windows, alone and for one owner.
    deadline_urls = (
        ("kind filter", "?kind=hearing"), ("due overdue", "?due=overdue"),
        ("due 7 days", "?due=7"), ("due 30 days", "?due=30"),
        ("owner, due 14 days", "?owner={owner}&due=14"),
        ("owner, overdue", "?owner={owner}&due=overdue"),
    )  # fmt: skip

    def measure(grids=grids) -> list[dict]:
        rows = []
        for who, user, owner in viewers:
            browser, owner = signed_in(users[user]), users[owner].pk
            for grid, sorts, search, status in grids:
                urls = [("first page", "")] + [(f"sort {s}", f"?sort={s}") for s in sorts] + [
                    ("sort -owner", "?sort=-owner"), ("owner filter", f"?owner={owner}"),
                    ("status filter", f"?status={status}"),
                    # A few thousand rows, sorted by a column with no index (matters, cases).
                    (f"owner+status, sort {sorts[0]}",
                     f"?owner={owner}&status={status}&sort={sorts[0]}"),
                    (f"search {search}", f"?q={search}"), ("search rare", "?q=00042"),
                    ("deep page", "?page=999999&per_page=100"),
                ] + [(name, query.format(owner=owner)) for name, query in deadline_urls
                     if grid == "deadlines"]  # fmt: skip
                path = f"/{grid}/"
                pages = [
                    (f"grid_{who}_{path}{query}", f"{grid} grid, {name} ({who})", path + query)
                    for name, query in urls
                ]
                rows += timed_pages(browser, pages, args.runs, PAGE_BUDGET)
        return rows

    print(
        "Record grids (100,000 clients, 500,000 matters, 2,500,000 cases and deadlines)",
        flush=True,
    )
    rows = measure()
    if args.no_before:
        return rows
    with transaction.atomic():
        schema_before_budget()
        print("The same grids before the index budget (rolled back afterwards)", flush=True)
        # Deadlines came after the budget: their table is not there at that migration.
        before = {item["key"]: item for item in measure(grids[:3])}
        transaction.set_rollback(True)
    for item in rows:
        if (earlier := before.get(item["key"])) is None:
            continue
        item.update(before_median_ms=earlier["median_ms"], before_queries=earlier["queries"])
        change = (item["median_ms"] / earlier["median_ms"] - 1) * 100
        item["note"] += f"; before the index budget {earlier['median_ms']:,.1f} ms ({change:+.0f}%)"
    return rows


def chromium_load(path: str, browser, runs: int) -> list[dict]:
    """The row of `path`'s load in headless Chromium, from navigation to the load event, in
    `browser`'s session and served by a live server thread; no row without Chromium."""
    if not (chromium := os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")):
        progress("headless Chromium: Chromium not installed, row skipped")
        return []
    server = LiveServerThread("127.0.0.1", lambda handler: get_wsgi_application())
    server.daemon = True
    server.start()
    server.is_ready.wait()
    base, session = f"http://127.0.0.1:{server.port}", browser.cookies[settings.SESSION_COOKIE_NAME]
    timings = []
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            context = launched.new_context()
            context.add_cookies([{"name": session.key, "value": session.value, "url": base}])
            page = context.new_page()
            page.goto(base + path)  # warm-up
            for _ in range(runs):
                started = time.perf_counter()
                page.goto(base + path, wait_until="load")
                timings.append((time.perf_counter() - started, 0))
            launched.close()
    finally:
        server.terminate()
    label = f"User Transfer page in headless Chromium, {UT_BOOKS[0]:,} x {UT_ELIGIBLE[0]}: load"
    limit = {"note": f"limit {UT_LOAD_LIMIT_MS:,} ms", "limit_ms": UT_LOAD_LIMIT_MS}
    item = row("user_transfer_chromium_load", label, timings, **limit)
    progress(f"{label}: median {item['median_ms']:.0f} ms")
    return [item]


def section_user_transfer(args) -> list[dict]:
    """Its database (casengine_bench_user_transfer, BENCH_USER_TRANSFER_DATABASE_URL), built
    on the first run: leavers with books of 1,000 and 5,000 clients (a matter and two cases
    each) and 1,400 eligible users, of whom 1,200 leave the Attorneys group for the 200."""
    common.django_setup("casengine_bench_user_transfer", "BENCH_USER_TRANSFER_DATABASE_URL")
    from django.contrib.auth.models import Group

    from clients.demo import bulk_records_generate, bulk_users_ensure
    from transfers.engine.holdings import linked_client_ids
    from transfers.models import Transfer
    from transfers.web.fields import user_reference
    from users.groups import ADMINISTRATORS, ATTORNEYS
    from users.models import User
    from users.selectors import eligible_owners

    [admin] = bulk_users_ensure(["bench.ut.admin"], [ADMINISTRATORS])
    books = bulk_users_ensure([f"bench.ut{n}" for n in UT_BOOKS], [ATTORNEYS])
    leavers = dict(zip(UT_BOOKS, books, strict=True))
    staff = [f"bench.ut.staff{i:04d}" for i in range(max(UT_ELIGIBLE))]
    staff = bulk_users_ensure(staff, [ATTORNEYS])
    for size, leaver in leavers.items():
        if leaver.owned_clients.count() != size:
            bulk_records_generate(
                owners=[leaver], clients=size, matters_per_client=1, cases_per_matter=2
            )
    for left in Transfer.objects.filter(mode="per_client", revert__isnull=True):
        service("transfer_revert", acting_user=admin, transfer=left)  # an interrupted run
    common.vacuum_analyze("users_user", *OWNED)
    attorneys, through = Group.objects.get(name=ATTORNEYS), User.groups.through
    browser, rows = signed_in(admin), []
    print("User Transfer page, Save, Distribute and Preview", flush=True)

    def eligible_set(count: int) -> None:  # the other leaver is eligible too
        through.objects.filter(user__in=staff, group=attorneys).delete()
        attorneys.user_set.add(*staff[: count - 1])

    for eligible in UT_ELIGIBLE:
        eligible_set(eligible)
        pages = [
            (f"user_transfer_page_{size}x{eligible}",
             f"User Transfer page, {size:,} clients x "
             f"{eligible_owners().exclude(pk=leaver.pk).count():,} eligible users",
             reverse("transfers:transfer_per_client", args=[leaver.pk]))
            for size, leaver in leavers.items()
        ]  # fmt: skip
        rows += timed_pages(browser, pages, args.runs, PAGE_BUDGET)
    for item in rows:
        item["note"] = f"{item['bytes']:,} bytes"
    rows[0]["limit_bytes"] = UT_PAGE_LIMIT_BYTES  # UT_BOOKS[0] clients x UT_ELIGIBLE[0] users
    rows[0]["note"] += f" (limit {UT_PAGE_LIMIT_BYTES:,})"
    eligible_set(UT_ELIGIBLE[0])
    small, big = (leavers[size] for size in UT_BOOKS)
    path = reverse("transfers:transfer_per_client", args=[small.pk])
    rows += chromium_load(path, browser, args.runs)
    path = reverse("transfers:transfer_per_client", args=[big.pk])
    recipients, ids = list(staff[:RECIPIENTS]), sorted(linked_client_ids(user=big))
    form = {"client_ids": ",".join(map(str, ids)), "distribute_mode": "workload"}
    form |= {f"client-{pk}": user_reference(recipients[i % RECIPIENTS]) for i, pk in enumerate(ids)}
    chosen = {"distribute_to": [user.pk for user in recipients]}
    for action, label, status, shows, fields in (
        ("distribute", f"Distribute {len(ids):,} clients among {RECIPIENTS} users", 200,
         b"Proposal: each chosen user", chosen),
        ("preview", f"Preview (dry run) of {len(ids):,} clients to {RECIPIENTS} users", 200,
         b"Preview: what Save would move", chosen),
        ("save", f"User Transfer Save, {len(ids):,} clients to {RECIPIENTS} users", 302, b"",
         {"selected": ids}),  # every row ticked: 10,000+ fields
    ):  # fmt: skip
        timings = []
        for _ in range(args.rounds):
            body = urlencode(form | fields | {"action": action, "request_key": uuid.uuid4()}, True)
            seconds, count, response = measured(browser.post, path, body, content_type=FORM_TYPE)
            if response.status_code != status or shows not in response.content:
                raise SystemExit(f"{action} failed ({response.status_code})")
            timings.append((seconds, count))
            if action == "save":
                done = Transfer.objects.order_by("-pk").first()
                service("transfer_revert", acting_user=admin, transfer=done)
                label = label.split(" (")[0] + f" ({done.record_count:,} records, through the view)"
        key = "user_transfer_save_5000" if action == "save" else f"user_transfer_{action}"
        rows.append(row(key, label, timings, SAVE_BUDGET))
        progress(f"{label}: median {rows[-1]['median_ms']:.0f} ms, {rows[-1]['queries']} queries")
    return rows


def section_background(args) -> list[dict]:
    """A User Transfer All Save above the threshold on the reference load, then its Revert:
    each checked and queued, then run by `db_worker` while the progress page is polled."""
    old, new, _, admin, _ = reference_load()
    from transfers.engine.holdings import user_holdings
    from transfers.models import Transfer, TransferJob

    browser, held = signed_in(admin), user_holdings(user=old)

    def run(key: str, what: str, noun: str, page: str, form: str, body: dict) -> list[dict]:
        browser.get(page)
        body["request_key"] = uuid.uuid4()
        seconds, count, response = measured(browser.post, form, body)
        job = TransferJob.objects.filter(request_key=body["request_key"]).first()
        if response.status_code != 302 or not job or response["Location"] != job.get_absolute_url():
            raise SystemExit(f"The {what} was not queued (HTTP {response.status_code}).")
        label = f"Background {what}: check and queue"
        rows = [row(f"{key}_queue", label, [(seconds, count)], note=response["Location"])]
        flags = ("--batch", "--no-reload", "--no-startup-delay")
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", *flags], cwd=ROOT, stdout=subprocess.DEVNULL
        )
        status = reverse("transfers:transfer_job_status", args=[job.pk])
        started, seen, data = time.perf_counter(), {}, {"active": True}
        while data["active"]:  # what the progress page shows, until it is no longer active
            data, at = browser.get(status).json(), time.perf_counter() - started
            if seen.setdefault(data["phase"] or data["status"], at) == at:
                progress(f"+{at:5.1f} s {data['status']} {data['phase']}: {data['moved']:,} moved")
            time.sleep(0.5)
        worker.wait()
        job.refresh_from_db()
        receipt = browser.get(job.get_absolute_url()).get("Location")
        progress(f"job {job.get_status_display().lower()}; its page now redirects to {receipt}")
        if job.status != TransferJob.Status.DONE:
            raise SystemExit(f"The background {what} did not end with its receipt.")
        worked = (job.finished_at - job.started_at).total_seconds()
        note = "phases shown at " + ", ".join(f"{name} +{at:.1f} s" for name, at in seen.items())
        label = f"Background {noun} in the worker, start to receipt"
        return rows + [row(f"{key}_worker", label, [(worked, 0)], note=note)]

    save = reverse("transfers:transfer_all", args=[old.pk])
    what = f"Save of {held.records:,} records and {held.shares:,} shares"
    rows = run("background", what, "transfer", save, save, {"new_user": new.pk})
    done = Transfer.objects.filter(from_user=old, mode=Transfer.Mode.ALL).latest("pk")
    confirm = reverse("transfers:transfer_revert_confirm", args=[done.pk])
    revert = reverse("transfers:transfer_revert", args=[done.pk])
    what = f"Revert of those {done.record_count:,} records"
    return rows + run("background_revert", what, "revert", confirm, revert, {})


def budget_text(item: dict) -> str:
    if item.get("limit_bytes") and item["bytes"] > item["limit_bytes"]:
        return "BYTES"
    if item.get("limit_ms") and item["median_ms"] > item["limit_ms"]:
        return "SLOW"
    if item.get("ratio") is not None:
        missed = item["ratio"] > TARGET_RATIO, item["constrained_ratio"] > CONSTRAINED_TARGET_RATIO
        return "RATIO" if missed[0] else "CONSTR" if missed[1] else "ok"
    if item.get("budget") is None:
        return "ok" if item.get("limit_ms") else ""
    return "ok" if item["queries"] <= item["budget"] else "QUERIES"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="timed transfers or Saves (3)")
    parser.add_argument("--runs", type=int, default=7, help="timed GETs of each page (7)")
    flag = functools.partial(parser.add_argument, action="store_true")
    flag("--no-before", help="grids: no pass before the index budget")
    flag("--before-indexes", help="transfers, pages: the schema before the index budget")
    parser.add_argument("--output", help="JSON file (default bench-results/bench-<date>.json)")
    parser.add_argument("--section", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.section:  # a child process: one section (or transfers+pages), one database
        sections = [globals()[f"section_{name}"] for name in args.section.split("+")]
        rows = [item for section in sections for item in section(args)]
        Path(args.output).write_text(json.dumps(rows))
        return 0
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := set(chosen) - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    first = "+".join(name for name in ("transfers", "pages") if name in chosen)
    rows, started, load_before = [], time.perf_counter(), os.getloadavg()[0]
    for section in [first] * bool(first) + [n for n in chosen if n not in ("transfers", "pages")]:
        print(f"== {section.replace('+', ' and ')}", flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as output:
            child = [sys.executable, __file__, *sys.argv[1:], "--section", section]
            if code := subprocess.run([*child, "--output", output.name], cwd=ROOT).returncode:
                print(f"The {section} section failed (exit {code})", file=sys.stderr)
                return code
            rows += json.load(output)
    now, seconds = datetime.datetime.now(datetime.UTC), round(time.perf_counter() - started)
    load = f"load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    print(f"\nCaseEngine benchmark, {now:%Y-%m-%d %H:%M} UTC: {os.cpu_count()} cores, {load}")
    width = max(len(item["label"]) for item in rows)
    header = f"{'benchmark':<{width}} {'n':>3} {'median ms':>10} {'p95 ms':>10} {'queries':>7}"
    print(header + f" {'target':>7}  note\n" + "-" * (len(header) + 15))
    for item in rows:
        figures = f"{item['n']:>3} {item['median_ms']:>10,.1f} {item['p95_ms']:>10,.1f}"
        target = f"{item['queries']:>7} {budget_text(item):>7}"
        print(f"{item['label']:<{width}} {figures} {target}  {item['note']}")
    path = Path(args.output or ROOT / "bench-results" / f"bench-{now:%Y-%m-%d-%H%M}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = {"load_average": [load_before, os.getloadavg()[0]], "rows": rows}
    path.write_text(json.dumps(figures, indent=2))
    print(f"\nFigures written to {path} ({seconds} s in all)")
    if missed := [item["label"] for item in rows if budget_text(item) not in ("", "ok")]:
        print("Targets missed: " + "; ".join(missed))
        return 1
    within = (
        f"within {TARGET_RATIO:g}x of SQL and {CONSTRAINED_TARGET_RATIO:g}x of the lean copies "
        "with constraints"
    )
    print(f"All targets met (service {within}; every row within its query budget).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
