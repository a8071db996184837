"""The index budget of clients, matters and cases: who uses each index, and what it costs.

    .venv/bin/python benchmarks/indexes.py usage [--extra-indexes]
    .venv/bin/python benchmarks/indexes.py cost [--reps 3] [--extra-indexes]

`usage` runs on the grid-scale database of benchmarks/grids.py (casengine_bench_grids,
BENCH_GRIDS_DATABASE_URL; 100,000 clients, 500,000 matters, 2,500,000 cases). It renders
every grid URL of the grid benchmark (as a manager and as an attorney), a client, matter
and case page, and runs the reads of a transfer (what a user holds, which clients they
are linked to, the rows a Transfer All and a per-client transfer select), captures each
query on clients, matters and cases and EXPLAINs it. It prints, for every index of the
three tables, the queries whose plan uses it, and the indexes no plan uses.
`--extra-indexes` first recreates, inside a transaction that is rolled back at the end,
the indexes the index budget dropped (clients migration 0004), to show which plans used
them before.

`cost` runs on the reference load of benchmarks/transfer.py (casengine_bench,
BENCH_DATABASE_URL); `--extra-indexes` recreates the dropped indexes for the
run (and drops them again at the end) to measure them too. For each table it
times the UPDATE that Transfer All runs (every record of bench.old to bench.new)
with only the primary key and an owner index, and then
with each other index of the table added back, each inside a transaction that is rolled
back (DROP INDEX is transactional), VACUUMing in between. An index's cost is the median
extra time it adds to that UPDATE; the same indexes are updated whichever way the
ownership moves, so this is what the index costs every Transfer All.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

TABLES = ("clients_client", "clients_matter", "clients_case")
# The owner index each table keeps in the lean set (primary key + owner index).
OWNER_INDEX = {
    "clients_client": "owner_id",
    "clients_matter": "owner_id, client_id",
    "clients_case": "owner_id, client_id",
}

# The indexes the index budget dropped (clients migration 0004), as they were.
DROPPED_INDEXES = (
    ("clients_client", "clients_client_number_f8bf4026_like", "number varchar_pattern_ops"),
    ("clients_client", "clients_client_name_f798fa6e", "name"),
    ("clients_client", "clients_client_name_f798fa6e_like", "name varchar_pattern_ops"),
    ("clients_matter", "clients_matter_number_27a16b11_like", "number varchar_pattern_ops"),
    ("clients_matter", "clients_matter_owner_id_53aea766", "owner_id"),
    ("clients_matter", "matter_title_number", "title, number"),
    ("clients_matter", "matter_area_number", "practice_area, number"),
    ("clients_matter", "matter_status_number", "status, number"),
    ("clients_case", "clients_case_number_9a018f74_like", "number varchar_pattern_ops"),
    ("clients_case", "clients_case_owner_id_384c99b4", "owner_id"),
    ("clients_case", "case_caption_number", "caption, number"),
    ("clients_case", "case_court_number", "court, number"),
    ("clients_case", "case_status_number", "status, number"),
)

# The index the budget added in their place (the *_number_unique constraints
# replace the *_number_key ones one for one).
ADDED_INDEXES = ("client_name_number",)


def table_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, definition) of every index of `table`."""
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = %s ORDER BY indexname",
        [table],
    )
    return cursor.fetchall()


def index_columns(definition: str) -> str:
    return definition[definition.index("(") + 1 : definition.rindex(")")]


def create_dropped_indexes(cursor) -> list[str]:
    """Recreate the indexes the budget dropped (those missing); their names."""
    created = []
    for table, name, columns in DROPPED_INDEXES:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE INDEX {name} ON {table} ({columns})")
            created.append(name)
    if created:
        cursor.execute("ANALYZE " + ", ".join(TABLES))
    return created


# ------------------------------------------------------------------ usage


def plan_indexes(plan: dict) -> set[tuple[str, str]]:
    """(index name, node type) of every index a JSON plan reads."""
    found = set()
    if "Index Name" in plan:
        found.add((plan["Index Name"], plan["Node Type"]))
    for child in plan.get("Plans", []):
        found |= plan_indexes(child)
    return found


def usage(args) -> int:
    import grids as grids_bench  # benchmarks/grids.py

    url = os.environ.get("BENCH_GRIDS_DATABASE_URL", grids_bench.DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.test_settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    grids_bench.database_ensure(url)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    grids_bench.data_load()

    from django.core.signals import request_started
    from django.db import connection, reset_queries, transaction
    from django.test import Client as TestClient
    from django.test.utils import CaptureQueriesContext

    from clients.models import Case, Client, Matter
    from transfers.selectors import linked_client_ids, user_holdings
    from users.models import User

    request_started.disconnect(reset_queries)
    manager = User.objects.get(username="bench.manager")
    attorney = User.objects.get(username="bench.owner001")
    other_owner = User.objects.get(username="bench.owner005")
    client = Client.objects.filter(owner=attorney).order_by("pk").first()
    matter = Matter.objects.filter(owner=attorney).order_by("pk").first()
    case = Case.objects.filter(owner=attorney).order_by("pk").first()

    uses: dict[str, set[str]] = {}
    statements = 0

    def explain(label: str, queries) -> None:
        nonlocal statements
        with connection.cursor() as cursor:
            for query in queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT") or not any(
                    table in sql for table in TABLES
                ):
                    continue
                statements += 1
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0][0]["Plan"]
                for name, node in plan_indexes(plan):
                    uses.setdefault(name, set()).add(f"{label} ({node})")

    with transaction.atomic():
        with connection.cursor() as cursor:
            created = create_dropped_indexes(cursor) if args.extra_indexes else []
        if created:
            print(f"Recreated for this run (rolled back): {', '.join(created)}")
        for who, user, owner_id in (
            ("manager", manager, other_owner.pk),
            ("attorney", attorney, attorney.pk),
        ):
            browser = TestClient()
            browser.force_login(user)
            pages = [
                (f"{name} {path.split('?')[0]}", path)
                for name, path in grids_bench.grid_urls(owner_id)
            ]
            pages += [
                ("client page", client.get_absolute_url()),
                ("matter page", matter.get_absolute_url()),
                ("case page", case.get_absolute_url()),
            ]
            for label, path in pages:
                with CaptureQueriesContext(connection) as captured:
                    response = browser.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path} answered {response.status_code}")
                explain(
                    f"{path} as {who}" if "page" not in label else f"{label} as {who}", captured
                )
        some_clients = sorted(linked_client_ids(user=attorney))[:50]
        reads = [
            ("Transfer forms: user_holdings", lambda: user_holdings(user=attorney)),
            ("User Transfer form: linked_client_ids", lambda: linked_client_ids(user=attorney)),
        ]
        for model in (Client, Matter, Case):
            name = model._meta.verbose_name_plural
            reads.append(
                (
                    f"Transfer All: {name} of the old user",
                    lambda model=model: list(
                        model.objects.filter(owner_id=attorney.pk).values_list("pk")
                    ),
                )
            )
            field = "pk" if model is Client else "client_id"
            reads.append(
                (
                    f"per-client transfer: {name} of the old user under 50 clients",
                    lambda model=model, field=field: list(
                        model.objects.filter(
                            owner_id=attorney.pk, **{f"{field}__in": some_clients}
                        ).values_list("pk")
                    ),
                )
            )
        for label, read in reads:
            with CaptureQueriesContext(connection) as captured:
                read()
            explain(label, captured)

        with connection.cursor() as cursor:
            indexes = {table: table_indexes(cursor, table) for table in TABLES}
        transaction.set_rollback(True)

    print(f"{statements} queries on clients, matters and cases EXPLAINed at grid scale\n")
    for table in TABLES:
        print(table)
        for name, definition in indexes[table]:
            marker = " (recreated)" if name in created else ""
            print(f"  {name}{marker}: ({index_columns(definition)})")
            used = sorted(uses.get(name, ()))
            if not used:
                print("      used by no plan")
            for line in used[: args.limit]:
                print(f"      {line}")
            if len(used) > args.limit:
                print(f"      ... and {len(used) - args.limit} more")
    return 0


# ------------------------------------------------------------------- cost


def cost(args) -> int:
    import transfer as transfer_bench  # benchmarks/transfer.py

    url = transfer_bench.bench_database_url()
    transfer_bench.ensure_database(url)
    transfer_bench.setup_django(url)

    from django.db import connection

    old, new, others, _ = transfer_bench.users()
    transfer_bench.reset(old, new)
    if not transfer_bench.load_present(old):
        transfer_bench.build_load(old, new, others)
        transfer_bench.vacuum_analyze()
    recreated = []
    if args.extra_indexes:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            recreated = create_dropped_indexes(cursor)
        print(
            f"Recreated for this run (dropped again at the end, "
            f"{time.perf_counter() - started:.0f} s): {', '.join(recreated)}"
        )
    try:
        measure_costs(args, old, new, recreated)
    finally:
        with connection.cursor() as cursor:
            for name in recreated:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    return 0


def measure_costs(args, old, new, recreated) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    def timed_update(table: str, keep: set[str], all_names: list[str]) -> float:
        with transaction.atomic(), connection.cursor() as cursor:
            for name in all_names:
                if name in keep:
                    continue
                # A unique constraint's index goes with the constraint.
                cursor.execute(
                    "SELECT conname FROM pg_constraint WHERE conindid = %s::regclass", [name]
                )
                constraint = cursor.fetchone()
                if constraint:
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint[0]}"')
                else:
                    cursor.execute(f'DROP INDEX "{name}"')
            started = time.perf_counter()
            cursor.execute(
                f"UPDATE {table} SET owner_id = %s, updated_at = %s WHERE owner_id = %s",
                [new.pk, timezone.now(), old.pk],
            )
            seconds = time.perf_counter() - started
            transaction.set_rollback(True)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {table}")
            cursor.execute("CHECKPOINT")
        return seconds

    print(f"UPDATE of bench.old's rows to bench.new, median of {args.reps}, rolled back")
    for table in TABLES:
        with connection.cursor() as cursor:
            indexes = table_indexes(cursor, table)
        names = [name for name, _ in indexes]
        by_columns = {index_columns(definition): name for name, definition in indexes}
        pkey = f"{table}_pkey"
        owner = by_columns.get(OWNER_INDEX[table])
        if owner is None:
            raise SystemExit(f"{table} has no index on ({OWNER_INDEX[table]})")
        base = {pkey, owner}
        configs = [("lean: primary key + (" + OWNER_INDEX[table] + ")", base)]
        configs += [(f"+ {name}", base | {name}) for name in names if name not in base]
        if any(name in recreated for name in names):
            configs.append(("kept by the index budget", {n for n in names if n not in recreated}))
            before = {n for n in names if n not in ADDED_INDEXES}
            configs.append(("before the index budget", before))
        configs.append(("all indexes", set(names)))
        times: dict[str, list[float]] = {label: [] for label, _ in configs}
        for _ in range(args.reps):
            for label, keep in configs:
                times[label].append(timed_update(table, keep, names))
        lean = statistics.median(times[configs[0][0]])
        print(f"{table}")
        for label, _ in configs:
            median = statistics.median(times[label])
            extra = "" if label == configs[0][0] else f"  ({median - lean:+.3f} s)"
            marker = " (recreated)" if label.removeprefix("+ ") in recreated else ""
            print(f"  {label:<48} {median:7.3f} s{extra}{marker}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    used = commands.add_parser("usage", help="EXPLAIN every grid query at grid scale")
    used.add_argument(
        "--extra-indexes", action="store_true", help="recreate the dropped indexes first"
    )
    used.add_argument("--limit", type=int, default=12, help="queries listed per index")
    costed = commands.add_parser("cost", help="time each index's share of the owner UPDATE")
    costed.add_argument("--reps", type=int, default=3, help="timed UPDATEs per set (default 3)")
    costed.add_argument(
        "--extra-indexes",
        action="store_true",
        help="recreate the dropped indexes for the run, to measure them too",
    )
    args = parser.parse_args()
    return usage(args) if args.command == "usage" else cost(args)


if __name__ == "__main__":
    sys.exit(main())
