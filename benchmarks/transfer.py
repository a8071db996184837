"""Benchmark: the service's Transfer All against hand-written SQL, side by side.

    make bench-transfer
    .venv/bin/python benchmarks/transfer.py --rounds 5 [--rebuild]

PostgreSQL only. It uses a dedicated database: BENCH_DATABASE_URL if set,
otherwise the server of DATABASE_URL (default postgres://root@127.0.0.1:5432)
with the database casengine_bench, created if missing. The first run builds
the reference load of PRODUCT.md with INSERT ... SELECT generate_series — one
user (bench.old) owning 10,000 clients, 50,000 matters and 250,000 cases,
among ten times as many records of ten other users, plus shares — and runs
VACUUM ANALYZE; later runs reuse it (--rebuild starts over).

Each round moves everything bench.old holds to bench.new and back: once with
hand-written SQL (the same updates and receipt inserts as the service, without
its locking, validation and notification) and once with
transfers.services.records_transfer_all, alternating which of the two goes
first, so both always start from the same state (one of the two users holds
everything, the other nothing). It prints the median times, their ratio
(target: at most 1.5) and the number of queries of one service call, and exits
non-zero when the ratio is above the target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SERVER = "postgres://root@127.0.0.1:5432"
BENCH_DATABASE = "casengine_bench"
TARGET_RATIO = 1.5

OLD_CLIENTS = 10_000
MATTERS_PER_CLIENT = 5
CASES_PER_MATTER = 5
OTHER_USERS = 10
# Shares held by bench.old on others' records, and how many of its case
# shares bench.new already holds (de-duplicated by the transfer).
OLD_SHARES = {"client": 2_000, "matter": 5_000, "case": 10_000}
NEW_DUPLICATE_SHARES = 1_000
OTHER_SHARES = 50_000
OWNED_TABLES = ("clients_client", "clients_matter", "clients_case")
SHARE_TABLES = (
    "clients_clientuserobjectpermission",
    "clients_matteruserobjectpermission",
    "clients_caseuserobjectpermission",
)
RECEIPT_TABLES = (
    "transfers_transferredrecord",
    "transfers_transferrecipient",
    "transfers_transfer",
)
# The schemas of the lean copies (see lean_copies_build): bare (the floor)
# and with the tables' check and foreign-key constraints (for comparison).
LEAN_SCHEMA = "lean"
CONSTRAINED_SCHEMA = "lean_constrained"


def bench_database_url() -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        url = explicit
    else:
        base = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
        parts = urlsplit(base)
        url = urlunsplit((parts.scheme, parts.netloc, "/" + BENCH_DATABASE, "", ""))
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(
            "The transfer benchmark needs PostgreSQL (the reference load and the "
            f"comparison are defined there); got {url.split(':', 1)[0]!r}. "
            "Set BENCH_DATABASE_URL or DATABASE_URL to a postgres:// URL."
        )
    return url


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"Creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casengine.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# ------------------------------------------------------------------ the load


def users():
    from django.contrib.auth.models import Group

    from users import groups
    from users.models import User

    def ensure(username: str, group: str, first: str, last: str) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@bench.local"},
        )
        if created:
            user.set_unusable_password()
            user.save()
            user.groups.add(Group.objects.get(name=group))
        return user

    old = ensure("bench.old", groups.ATTORNEYS, "Olga", "Leaving")
    new = ensure("bench.new", groups.ATTORNEYS, "Nina", "Taking")
    others = [
        ensure(f"bench.other{i}", groups.ATTORNEYS, "Other", f"Attorney {i}")
        for i in range(OTHER_USERS)
    ]
    admin = ensure("bench.admin", groups.ADMINISTRATORS, "Ada", "Admin")
    return old, new, others, admin


def load_present(old) -> bool:
    from clients.models import Case, Client, Matter

    return (
        Client.objects.filter(owner=old).count() == OLD_CLIENTS
        and Matter.objects.filter(owner=old).count() == OLD_CLIENTS * MATTERS_PER_CLIENT
        and Case.objects.filter(owner=old).count()
        == OLD_CLIENTS * MATTERS_PER_CLIENT * CASES_PER_MATTER
    )


def build_load(old, new, others) -> None:
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction

    from clients.models import (
        Case,
        CaseUserObjectPermission,
        Client,
        ClientUserObjectPermission,
        Matter,
        MatterUserObjectPermission,
    )
    from transfers.models import Transfer, TransferRecipient, TransferredRecord

    started = time.perf_counter()
    other_ids = [user.pk for user in others]
    total_clients = OLD_CLIENTS * (1 + 10)  # ten times as many records of others
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (TransferredRecord, TransferRecipient, Transfer):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
        for model in (
            CaseUserObjectPermission,
            MatterUserObjectPermission,
            ClientUserObjectPermission,
            Case,
            Matter,
            Client,
        ):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
        print(f"Building {total_clients:,} clients ...", flush=True)
        cursor.execute(
            """
            INSERT INTO clients_client
                (created_at, updated_at, number, name, kind, email, phone, address, status,
                 owner_id)
            SELECT now(), now(), 'B-' || lpad(g::text, 7, '0'), 'Bench client ' || g,
                   'organisation', '', '', '', 'active',
                   CASE WHEN g <= %s THEN %s ELSE (%s::bigint[])[1 + g %% %s] END
            FROM generate_series(1, %s) AS g
            """,
            [OLD_CLIENTS, old.pk, other_ids, len(other_ids), total_clients],
        )
        print(f"Building {total_clients * MATTERS_PER_CLIENT:,} matters ...", flush=True)
        cursor.execute(
            """
            INSERT INTO clients_matter
                (created_at, updated_at, client_id, number, title, practice_area, status,
                 owner_id)
            SELECT now(), now(), c.id, 'BM-' || c.id || '-' || k, 'Bench matter ' || k,
                   'litigation', 'open', c.owner_id
            FROM clients_client c CROSS JOIN generate_series(1, %s) AS k
            """,
            [MATTERS_PER_CLIENT],
        )
        print(
            f"Building {total_clients * MATTERS_PER_CLIENT * CASES_PER_MATTER:,} cases ...",
            flush=True,
        )
        cursor.execute(
            """
            INSERT INTO clients_case
                (created_at, updated_at, matter_id, client_id, number, caption, court, status,
                 owner_id)
            SELECT now(), now(), m.id, m.client_id, 'BK-' || m.id || '-' || k,
                   'Bench case ' || k, 'High Court', 'open', m.owner_id
            FROM clients_matter m CROSS JOIN generate_series(1, %s) AS k
            """,
            [CASES_PER_MATTER],
        )
        print("Building shares ...", flush=True)

        def permission(codename: str) -> int:
            return Permission.objects.get(content_type__app_label="clients", codename=codename).pk

        for kind, model, share_model in (
            ("client", Client, ClientUserObjectPermission),
            ("matter", Matter, MatterUserObjectPermission),
            ("case", Case, CaseUserObjectPermission),
        ):
            cursor.execute(
                f"""
                INSERT INTO {share_model._meta.db_table} (content_object_id, permission_id, user_id)
                SELECT r.id, %s, %s FROM {model._meta.db_table} r
                WHERE r.owner_id <> %s ORDER BY r.id LIMIT %s
                """,
                [permission(f"view_{kind}"), old.pk, old.pk, OLD_SHARES[kind]],
            )
        cursor.execute(
            """
            INSERT INTO clients_caseuserobjectpermission (content_object_id, permission_id, user_id)
            SELECT s.content_object_id, s.permission_id, %s
            FROM clients_caseuserobjectpermission s WHERE s.user_id = %s
            ORDER BY s.content_object_id LIMIT %s
            """,
            [new.pk, old.pk, NEW_DUPLICATE_SHARES],
        )
        cursor.execute(
            """
            INSERT INTO clients_caseuserobjectpermission (content_object_id, permission_id, user_id)
            SELECT c.id, %s, (%s::bigint[])[1 + (c.id + 3) %% %s]
            FROM clients_case c WHERE c.owner_id <> %s
            ORDER BY c.id DESC LIMIT %s
            """,
            [permission("change_case"), other_ids, len(other_ids), old.pk, OTHER_SHARES],
        )
    print(f"Load built in {time.perf_counter() - started:.1f} s", flush=True)


def vacuum_analyze() -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)


# ------------------------------------------------------- hand-written SQL


def sql_transfer_all(actor, old, new, schema: str | None = None) -> int:
    """What records_transfer_all writes, as plain SQL in one transaction.

    With `schema` (LEAN_SCHEMA), the same statements run on the lean copies
    of the tables in that schema, found first on the search path."""
    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        if schema is not None:
            cursor.execute(f"SET LOCAL search_path TO {schema}, public")
        cursor.execute(
            """
            INSERT INTO transfers_transfer
                (created_at, mode, actor_id, actor_name, from_user_id, from_user_name,
                 deactivated_from_user, reactivated_user, client_count, matter_count,
                 case_count, share_count, skipped_count)
            VALUES (%s, 'all', %s, %s, %s, %s, false, false, 0, 0, 0, 0, 0) RETURNING id
            """,
            [now, actor.pk, actor.full_name, old.pk, old.full_name],
        )
        transfer_id = cursor.fetchone()[0]
        counts = {}
        for record_type, table in (
            ("client", "clients_client"),
            ("matter", "clients_matter"),
            ("case", "clients_case"),
        ):
            cursor.execute(
                f"""
                INSERT INTO transfers_transferredrecord
                    (transfer_id, record_type, record_id, permission_id, share_merged,
                     from_user_id, to_user_id)
                SELECT %s, %s, id, NULL, false, %s, %s FROM {table} WHERE owner_id = %s
                """,
                [transfer_id, record_type, old.pk, new.pk, old.pk],
            )
            cursor.execute(
                f"UPDATE {table} SET owner_id = %s, updated_at = %s WHERE owner_id = %s",
                [new.pk, now, old.pk],
            )
            counts[record_type] = cursor.rowcount
        shares = 0
        for record_type, table in (
            ("client_share", "clients_clientuserobjectpermission"),
            ("matter_share", "clients_matteruserobjectpermission"),
            ("case_share", "clients_caseuserobjectpermission"),
        ):
            held = (
                f"EXISTS (SELECT 1 FROM {table} d WHERE d.user_id = %s "
                f"AND d.content_object_id = {table}.content_object_id "
                f"AND d.permission_id = {table}.permission_id)"
            )
            cursor.execute(
                f"""
                INSERT INTO transfers_transferredrecord
                    (transfer_id, record_type, record_id, permission_id, share_merged,
                     from_user_id, to_user_id)
                SELECT %s, %s, content_object_id, permission_id, {held}, %s, %s
                FROM {table} WHERE user_id = %s
                """,
                [transfer_id, record_type, new.pk, old.pk, new.pk, old.pk],
            )
            shares += cursor.rowcount
            cursor.execute(f"DELETE FROM {table} WHERE user_id = %s AND {held}", [old.pk, new.pk])
            cursor.execute(f"UPDATE {table} SET user_id = %s WHERE user_id = %s", [new.pk, old.pk])
        cursor.execute(
            """
            INSERT INTO transfers_transferrecipient
                (transfer_id, to_user_id, to_user_name, client_count, matter_count,
                 case_count, share_count)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            """,
            [
                transfer_id,
                new.pk,
                new.full_name,
                counts["client"],
                counts["matter"],
                counts["case"],
                shares,
            ],
        )
        cursor.execute(
            """
            UPDATE transfers_transfer
            SET client_count = %s, matter_count = %s, case_count = %s, share_count = %s
            WHERE id = %s
            """,
            [counts["client"], counts["matter"], counts["case"], shares, transfer_id],
        )
    return counts["client"] + counts["matter"] + counts["case"]


# ------------------------------------------------------------------ the run


def reset(old, new) -> None:
    """Start from bench.old holding everything (an interrupted run may have
    left records or shares with bench.new)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("clients_client", "clients_matter", "clients_case"):
            cursor.execute(
                f"UPDATE {table} SET owner_id = %s WHERE owner_id = %s", [old.pk, new.pk]
            )
        for table in SHARE_TABLES:
            cursor.execute(
                f"DELETE FROM {table} WHERE user_id = %s AND EXISTS (SELECT 1 FROM {table} d "
                f"WHERE d.user_id = %s AND d.content_object_id = {table}.content_object_id "
                f"AND d.permission_id = {table}.permission_id)",
                [new.pk, old.pk],
            )
            cursor.execute(f"UPDATE {table} SET user_id = %s WHERE user_id = %s", [old.pk, new.pk])


def prepare(src, dst, schema: str = "public") -> None:
    """The same starting state before every timed transfer, untimed: empty
    receipt tables, `dst` already holding some of `src`'s case shares (to be
    de-duplicated), freshly vacuumed tables and a checkpoint. `schema`: the
    tables' schema (LEAN_SCHEMA for the lean copies)."""
    from django.db import connection

    receipts = ", ".join(f"{schema}.{table}" for table in RECEIPT_TABLES)
    case_shares = f"{schema}.clients_caseuserobjectpermission"
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {receipts}")
        cursor.execute(
            f"""
            INSERT INTO {case_shares} (content_object_id, permission_id, user_id)
            SELECT s.content_object_id, s.permission_id, %s
            FROM {case_shares} s WHERE s.user_id = %s
            AND NOT EXISTS (SELECT 1 FROM {case_shares} d WHERE d.user_id = %s
                            AND d.content_object_id = s.content_object_id
                            AND d.permission_id = s.permission_id)
            ORDER BY s.content_object_id LIMIT %s
            """,
            [dst.pk, src.pk, dst.pk, NEW_DUPLICATE_SHARES],
        )
        tables = ", ".join(f"{schema}.{table}" for table in (*OWNED_TABLES, *SHARE_TABLES))
        cursor.execute(f"VACUUM ANALYZE {tables}, {receipts}")
        cursor.execute("CHECKPOINT")


# ------------------------------------------------------------ the lean floor


def lean_copies_build(schema: str = LEAN_SCHEMA, *, constraints: bool = False) -> None:
    """Copies of every table a Transfer All writes, in `schema`, with the same
    rows and nothing but a primary key and an owner index (clients, matters,
    cases: owner_id; shares: user_id; receipts: none). The same SQL on them
    is the floor of what moving the rows costs. With `constraints`, they also
    keep the tables' check and foreign-key constraints (pointing at the copies
    where the referenced table is copied too), so that they differ from the
    tables by their indexes only."""
    from django.db import connection

    started = time.perf_counter()
    copied = (*OWNED_TABLES, *SHARE_TABLES, *RECEIPT_TABLES)
    owner_column = dict.fromkeys(OWNED_TABLES, "owner_id") | dict.fromkeys(SHARE_TABLES, "user_id")
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        cursor.execute(f"CREATE SCHEMA {schema}")
        for table in copied:
            lean = f"{schema}.{table}"
            cursor.execute(
                f"CREATE TABLE {lean} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY)"
            )
            if table not in RECEIPT_TABLES:
                cursor.execute(f"INSERT INTO {lean} SELECT * FROM {table}")
            cursor.execute(f"ALTER TABLE {lean} ADD PRIMARY KEY (id)")
            if table in owner_column:
                cursor.execute(f"CREATE INDEX ON {lean} ({owner_column[table]})")
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)",
                [lean],
            )
        if constraints:
            for table in copied:
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype IN ('c', 'f')",
                    [f"public.{table}"],
                )
                for name, definition in cursor.fetchall():
                    for target in copied:
                        definition = definition.replace(
                            f"REFERENCES {target}(", f"REFERENCES {schema}.{target}("
                        )
                    # NOT VALID: enforced on every write, without a scan of the copy.
                    cursor.execute(
                        f'ALTER TABLE {schema}.{table} ADD CONSTRAINT "{name}" {definition} '
                        "NOT VALID"
                    )
    kind = "with their constraints" if constraints else "bare"
    print(f"Lean copies ({schema}, {kind}) built in {time.perf_counter() - started:.1f} s")


def lean_copies_drop(schema: str = LEAN_SCHEMA) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds, each timing both once (default 4)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the load again")
    parser.add_argument(
        "--verbose", action="store_true", help="print the slowest statements of each transfer"
    )
    args = parser.parse_args()

    url = bench_database_url()
    ensure_database(url)
    setup_django(url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from transfers.services import records_transfer_all

    old, new, others, admin = users()
    print(f"Database: {connection.settings_dict['NAME']} on PostgreSQL")
    reset(old, new)
    if args.rebuild or not load_present(old):
        build_load(old, new, others)
    else:
        print("Reusing the reference load already in the database")
    vacuum_analyze()

    from clients.models import Case, Client, Matter

    print(
        "Load: bench.old owns "
        f"{Client.objects.filter(owner=old).count():,} clients, "
        f"{Matter.objects.filter(owner=old).count():,} matters, "
        f"{Case.objects.filter(owner=old).count():,} cases; "
        f"all users: {Client.objects.count():,} clients, {Matter.objects.count():,} matters, "
        f"{Case.objects.count():,} cases",
        flush=True,
    )

    sql_times: list[float] = []
    service_times: list[float] = []
    query_counts: list[int] = []

    def slowest(queries) -> None:
        if args.verbose:
            timed = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
            for query in timed[:12]:
                print(
                    f"      {float(query['time']):7.2f} s  {' '.join(query['sql'].split())[:110]}"
                )

    def by_sql(src, dst) -> None:
        prepare(src, dst)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            moved = sql_transfer_all(admin, src, dst)
            sql_times.append(time.perf_counter() - started)
        print(
            f"  SQL      {src.username} -> {dst.username}: {moved:,} records in "
            f"{sql_times[-1]:.2f} s",
            flush=True,
        )
        slowest(queries)

    def by_service(src, dst) -> None:
        prepare(src, dst)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            transfer = records_transfer_all(acting_user=admin, old_user=src, new_user=dst).transfer
            service_times.append(time.perf_counter() - started)
        query_counts.append(len(queries))
        print(
            f"  service  {src.username} -> {dst.username}: {transfer.record_count:,} records in "
            f"{service_times[-1]:.2f} s, {len(queries)} queries",
            flush=True,
        )
        slowest(queries)

    for round_number in range(1, args.rounds + 1):
        print(f"Round {round_number}", flush=True)
        if round_number % 2:
            by_sql(old, new)
            by_service(new, old)
        else:
            by_service(old, new)
            by_sql(new, old)

    sql_median = statistics.median(sql_times)
    service_median = statistics.median(service_times)
    ratio = service_median / sql_median
    print()
    print(f"Hand-written SQL, median of {len(sql_times)}: {sql_median:.3f} s")
    print(f"Service (records_transfer_all), median of {len(service_times)}: {service_median:.3f} s")
    print(f"Ratio service / SQL: {ratio:.2f} (target <= {TARGET_RATIO})")
    print(f"Service query count: {max(query_counts)} per call (every call: {set(query_counts)})")
    if ratio > TARGET_RATIO:
        sys.exit(f"Ratio {ratio:.2f} is above the target {TARGET_RATIO}")


if __name__ == "__main__":
    main()
