"""No way to leave a record whose owner does not exist, short of a superuser's DDL.

Each test is one way the owner triggers of clients migration 0005 were got
around on PostgreSQL (issue 22); the owner foreign keys of migration 0006
refuse every one of them, or, for TRUNCATE ... CASCADE, leave no record
without its owner. PostgreSQL only: SQLite has no roles, temporary tables of
this kind, REPEATABLE READ or TRUNCATE, and kept its foreign keys throughout."""

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from clients.models import Case, Client, Matter
from tests.factories import (
    CaseFactory,
    ClientShareFactory,
    DeadlineFactory,
    MatterFactory,
    OwnerFactory,
)
from tests.helpers import default_groups_restore
from users.models import User

pytestmark = pytest.mark.postgres_only

OWNED = ("clients_client", "clients_matter", "clients_case")
MISSING_OWNER = 999_999_999


def orphans() -> dict[str, int]:
    """Records whose owner is not a user, by table."""
    counts = {}
    with connection.cursor() as cursor:
        for table in OWNED:
            cursor.execute(
                f"SELECT count(*) FROM public.{table} AS record WHERE NOT EXISTS "
                "(SELECT 1 FROM public.users_user AS owner WHERE owner.id = record.owner_id)"
            )
            counts[table] = cursor.fetchone()[0]
    return counts


NO_ORPHANS = dict.fromkeys(OWNED, 0)


def settled() -> None:
    """Run the checks the setup's inserts left pending: PostgreSQL refuses DDL on
    a table with pending trigger events."""
    connection.check_constraints()


@pytest.fixture
def default_groups(transactional_db):
    """Transactional tests flush the database, groups included; put them back."""

    default_groups_restore()


@contextmanager
def limited_role(*grants: str):
    """A role of its own (dropped with the transaction), holding only `grants`,
    as the current role of the connection until the block ends."""
    name = f"ce_limited_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name}")
        for grant in grants:
            cursor.execute(grant.format(role=name))
        cursor.execute(f"SET ROLE {name}")
        yield cursor
        cursor.execute("RESET ROLE")


# --- A temporary table shadows the real one ----------------------------------------


@pytest.mark.django_db
def test_a_temporary_users_table_does_not_let_a_missing_owner_in():
    case = CaseFactory()
    with (
        pytest.raises(IntegrityError, match="violates foreign key constraint"),
        transaction.atomic(),
    ):
        with limited_role(
            "GRANT SELECT, UPDATE ON public.clients_case TO {role}",
            "GRANT TEMPORARY ON DATABASE " + connection.settings_dict["NAME"] + " TO {role}",
        ) as cursor:
            cursor.execute(f"CREATE TEMP TABLE users_user AS SELECT {MISSING_OWNER}::bigint id")
            cursor.execute(
                "UPDATE public.clients_case SET owner_id = %s WHERE id = %s",
                [MISSING_OWNER, case.pk],
            )
        connection.check_constraints()
    assert Case.objects.get(pk=case.pk).owner_id == case.owner_id
    assert orphans() == NO_ORPHANS


@pytest.mark.django_db
def test_empty_temporary_record_tables_do_not_let_an_owner_be_deleted():
    case = CaseFactory()
    holder = User.objects.create(username="holder.only")  # no group, nothing else
    Case.objects.filter(pk=case.pk).update(owner=holder)
    owner_id = holder.pk
    settled()
    with (
        pytest.raises(IntegrityError, match="is still referenced from table"),
        transaction.atomic(),
    ):
        with limited_role("GRANT SELECT, DELETE ON public.users_user TO {role}") as cursor:
            for table in OWNED:
                cursor.execute(f"CREATE TEMP TABLE {table} (owner_id bigint)")
            cursor.execute("DELETE FROM public.users_user WHERE id = %s", [owner_id])
        connection.check_constraints()
    assert User.objects.filter(pk=owner_id).exists()
    assert orphans() == NO_ORPHANS


# --- A REPEATABLE READ race --------------------------------------------------------


def raw_connection() -> psycopg.Connection:
    """A connection of its own to the test database, as another program has."""
    return psycopg.connect(**connection.get_connection_params())


@pytest.mark.django_db(transaction=True)
def test_a_repeatable_read_deletion_cannot_strand_a_record_given_meanwhile(default_groups):
    """T1 takes its snapshot; T2 gives the user a case and commits; T1 deletes
    the user, whom its snapshot shows owning nothing, and commits: refused."""
    case = CaseFactory()
    leaver = User.objects.create(username="x.leaver")
    deleter, giver = raw_connection(), raw_connection()
    try:
        deleter.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        assert deleter.execute(
            "SELECT count(*) FROM clients_case WHERE owner_id = %s", [leaver.pk]
        ).fetchone() == (0,)
        with giver.transaction():
            giver.execute(
                "UPDATE clients_case SET owner_id = %s WHERE id = %s", [leaver.pk, case.pk]
            )
        giver.commit()
        with pytest.raises(psycopg.errors.ForeignKeyViolation, match="still referenced"):
            deleter.execute("DELETE FROM users_user WHERE id = %s", [leaver.pk])
            deleter.commit()
    finally:
        deleter.close()
        giver.close()
    assert User.objects.filter(pk=leaver.pk).exists()
    assert Case.objects.get(pk=case.pk).owner_id == leaver.pk
    assert orphans() == NO_ORPHANS


# --- The check cannot be switched off by the table's owner ---------------------------


@pytest.mark.django_db
def test_the_tables_owner_cannot_switch_the_owner_check_off():
    """The role that owns clients_case disables every trigger it can, then gives
    a case to a user who does not exist: still refused. A foreign key's own
    triggers are system triggers; only a superuser may disable them."""
    case = CaseFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.clients_case'::regclass "
            "AND tgconstraint IN (SELECT oid FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = 'public.users_user'::regclass)"
        )
        owner_key_triggers = [name for (name,) in cursor.fetchall()]
    settled()
    with (
        pytest.raises(IntegrityError, match="violates foreign key constraint"),
        transaction.atomic(),
    ):
        with limited_role("ALTER TABLE public.clients_case OWNER TO {role}") as cursor:
            for name in owner_key_triggers:
                with (
                    pytest.raises(DatabaseError, match="is a system trigger"),
                    transaction.atomic(),
                ):
                    cursor.execute(f'ALTER TABLE public.clients_case DISABLE TRIGGER "{name}"')
            cursor.execute("ALTER TABLE public.clients_case DISABLE TRIGGER USER")
            cursor.execute(
                "UPDATE public.clients_case SET owner_id = %s WHERE id = %s",
                [MISSING_OWNER, case.pk],
            )
        connection.check_constraints()
    assert Case.objects.get(pk=case.pk).owner_id == case.owner_id
    assert orphans() == NO_ORPHANS
    assert owner_key_triggers, "clients_case has no foreign key to users_user"


# --- TRUNCATE users_user CASCADE ---------------------------------------------------


@pytest.mark.django_db
def test_truncating_the_users_leaves_no_record_without_its_owner():
    CaseFactory.create_batch(3)
    settled()
    with connection.cursor() as cursor:
        with (
            pytest.raises(DatabaseError, match="cannot truncate a table referenced"),
            transaction.atomic(),
        ):
            cursor.execute("TRUNCATE users_user")
        assert Case.objects.exists()
        cursor.execute("TRUNCATE users_user CASCADE")
    assert not User.objects.exists()
    assert orphans() == NO_ORPHANS


# --- pg_dump, full and data-only -------------------------------------------------------

PG_TOOLS = ("pg_dump", "psql", "createdb", "dropdb")
MANAGE = Path(settings.BASE_DIR) / "manage.py"


def pg_tools_missing() -> list[str]:
    return [tool for tool in PG_TOOLS if shutil.which(tool) is None]


def server_arguments() -> list[str]:
    params = connection.get_connection_params()
    arguments = [f"--host={params.get('host') or 'localhost'}"]
    arguments += [f"--port={params['port']}"] if params.get("port") else []
    arguments += [f"--username={params['user']}"] if params.get("user") else []
    return arguments


def pg_environment() -> dict[str, str]:
    password = connection.get_connection_params().get("password")
    return os.environ | ({"PGPASSWORD": password} if password else {})


def run(*command: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(command, input=stdin, capture_output=True, env=pg_environment())
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr.decode()[-2000:]}"
    return done.stdout


def database_url(name: str) -> str:
    params = connection.get_connection_params()
    user = params.get("user") or ""
    password = f":{params['password']}" if params.get("password") else ""
    at = f"{user}{password}@" if user else ""
    host = params.get("host") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgres://{at}{host}{port}/{name}"


def holdings(dbname: str) -> dict[str, set[tuple]]:
    """Every record with its owner's username (NULL where the owner is missing)."""
    with psycopg.connect(**(connection.get_connection_params() | {"dbname": dbname})) as conn:
        return {
            table: set(
                conn.execute(
                    f"SELECT record.id, record.number, owner.username FROM {table} AS record "
                    "LEFT JOIN users_user AS owner ON owner.id = record.owner_id"
                ).fetchall()
            )
            for table in OWNED
        }


def searched_text(dbname: str) -> dict[str, set[tuple]]:
    """Every row of the searched-text tables (clients migration 0009), and the ids of
    the cases a search for "restored" finds through them."""
    with psycopg.connect(**(connection.get_connection_params() | {"dbname": dbname})) as conn:
        texts = {
            table: set(conn.execute(f"SELECT * FROM {table}_search").fetchall())
            for table in (*OWNED, "clients_deadline")
        }
        found = conn.execute(
            "SELECT id FROM clients_case_search WHERE UPPER(caption) LIKE UPPER('%restored%')"
        ).fetchall()
        return texts | {"found": {pk for (pk,) in found}}


@pytest.fixture
def fresh_databases():
    """`fresh()`: the name of a new, empty database, dropped after the test."""
    created = []

    def fresh() -> str:
        name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
        run("createdb", *server_arguments(), name)
        created.append(name)
        return name

    yield fresh
    for name in created:
        run("dropdb", *server_arguments(), "--force", "--if-exists", name)


@pytest.mark.skipif(
    bool(pg_tools_missing()) and not os.environ.get("CI"),
    reason=f"the PostgreSQL client programs are not installed: {', '.join(pg_tools_missing())}",
)
@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_every_record_with_its_owner(default_groups, fresh_databases):
    """pg_dump of a database holding records, restored into a fresh database:
    in full, and data only into a schema built by `manage.py migrate`."""
    owners = OwnerFactory.create_batch(3)
    for index, owner in enumerate(owners):
        client = MatterFactory(client__owner=owner, owner=owners[index - 1]).client
        CaseFactory.create_batch(2, matter=client.matters.get(), owner=owners[index - 2])
        ClientShareFactory(content_object=client, user=owners[index - 1])
        DeadlineFactory(case=client.cases.first(), owner=owners[index - 2])
    Case.objects.filter(pk=Case.objects.order_by("pk")[0].pk).update(caption="Restored v. Adler")
    source = connection.settings_dict["NAME"]
    expected, texts = holdings(source), searched_text(source)
    assert all(expected.values()) and Case.objects.count() == 6
    assert all(username is not None for rows in expected.values() for *_, username in rows)
    assert all(texts.values()) and len(texts["found"]) == 1 and len(texts["clients_case"]) == 6

    full = fresh_databases()
    dump = run("pg_dump", *server_arguments(), "--no-owner", source)
    run("psql", *server_arguments(), "--quiet", "-v", "ON_ERROR_STOP=1", full, stdin=dump)
    assert holdings(full) == expected
    assert searched_text(full) == texts

    data_only = fresh_databases()
    migrate = subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "--no-input", "-v", "0"],
        capture_output=True,
        env=pg_environment()
        | {
            "DATABASE_URL": database_url(data_only),
            "DJANGO_SETTINGS_MODULE": "casengine.test_settings",
        },
    )
    assert migrate.returncode == 0, migrate.stderr.decode()[-2000:]
    # The dump carries every row, those the migrations wrote (groups, permissions) too.
    # Restoring the records fires their searched-text triggers, which write the text
    # before the dump's own rows of it arrive: those are merged, not refused.
    with psycopg.connect(**(connection.get_connection_params() | {"dbname": data_only})) as conn:
        tables = conn.execute(
            "SELECT string_agg(format('public.%I', tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public'"
        ).fetchone()[0]
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY")
    dump = run("pg_dump", *server_arguments(), "--data-only", source)
    run("psql", *server_arguments(), "--quiet", "-v", "ON_ERROR_STOP=1", data_only, stdin=dump)
    assert holdings(data_only) == expected
    assert searched_text(data_only) == texts
    assert {table: len(rows) for table, rows in holdings(data_only).items()} == {
        "clients_client": Client.objects.count(),
        "clients_matter": Matter.objects.count(),
        "clients_case": 6,
    }
