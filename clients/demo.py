"""The demo firm: deterministic users, clients, matters, cases, deadlines and
shares, and bulk generation of large volumes for benchmarks."""

import datetime
import random
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.utils import timezone

from clients.models import (
    Case,
    CaseUserObjectPermission,
    Client,
    Deadline,
    Matter,
    MatterUserObjectPermission,
)
from users import groups
from users.models import User
from users.services import user_create

DEMO_PASSWORD = "casengine-demo"

DEMO_USERS = [
    # username, first name, last name, group
    ("dana.reyes", "Dana", "Reyes", groups.ATTORNEYS),
    ("marcus.hale", "Marcus", "Hale", groups.ATTORNEYS),
    ("priya.natarajan", "Priya", "Natarajan", groups.ATTORNEYS),
    ("tom.becker", "Tom", "Becker", groups.ATTORNEYS),
    ("lena.ortiz", "Lena", "Ortiz", groups.PARALEGALS),
    ("sam.okafor", "Sam", "Okafor", groups.PARALEGALS),
    ("grace.kim", "Grace", "Kim", groups.PARALEGALS),
    ("helen.ward", "Helen", "Ward", groups.MANAGERS),
    ("victor.stein", "Victor", "Stein", groups.MANAGERS),
    ("olivia.grant", "Olivia", "Grant", groups.ADMINISTRATORS),
    ("noah.fischer", "Noah", "Fischer", groups.ADMINISTRATORS),
]

FIRST_NAMES = [
    "Alice",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Felix",
    "Hana",
    "Ivan",
    "Julia",
    "Karl",
    "Maya",
    "Nils",
    "Omar",
    "Paula",
    "Rosa",
    "Stefan",
    "Tara",
    "Uma",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adler",
    "Brandt",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Ferreira",
    "Gallo",
    "Hoffmann",
    "Ishikawa",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Olsen",
    "Petrov",
]
ORGANISATIONS = [
    "Holdings",
    "Logistics",
    "Foods",
    "Energy",
    "Partners",
    "Media",
    "Builders",
    "Pharma",
    "Textiles",
    "Robotics",
    "Shipping",
    "Software",
]
COURTS = [
    "High Court",
    "County Court",
    "Court of Appeal",
    "Employment Tribunal",
    "Family Court",
    "Commercial Court",
    "District Court",
]
MATTER_TOPICS = [
    "Contract dispute",
    "Acquisition",
    "Lease renewal",
    "Unfair dismissal",
    "Trademark filing",
    "Divorce settlement",
    "Tax appeal",
    "Visa application",
    "Shareholder agreement",
    "Debt recovery",
    "Licensing",
    "Planning permission",
]

DEADLINE_TITLES = {
    Deadline.Kind.COURT_DEADLINE: "Serve the defence",
    Deadline.Kind.LIMITATION_DATE: "Limitation date for the claim",
    Deadline.Kind.HEARING: "Case management hearing",
    Deadline.Kind.FILING: "File the witness statements",
    Deadline.Kind.TASK: "Send the client the draft",
}
# The demo firm's deadlines, by days from today: a few overdue, a few this week, the rest
# spread over the next three months (and some done in the past).
DEMO_DUE_OFFSETS = (-9, -4, -1, 0, 1, 2, 3, 5, 6, 9, 13, 16, 21, 27, 34, 45, 58, 72, 88)


@dataclass
class SeedSummary:
    users: int
    clients: int
    matters: int
    cases: int
    deadlines: int = 0


def demo_users_ensure() -> dict[str, User]:
    """The demo users, created through users.services.user_create (so their
    account history starts with "Created") when they do not exist yet."""
    users = {}
    for username, first_name, last_name, group_name in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=DEMO_PASSWORD,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@example.com",
                groups=[Group.objects.get(name=group_name)],
            )
        users[username] = user
    return users


def _client_name(rng: random.Random, index: int) -> tuple[str, str]:
    if index % 3 == 0:
        return f"{rng.choice(LAST_NAMES)} {rng.choice(ORGANISATIONS)}", Client.Kind.ORGANISATION
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", Client.Kind.PERSON


@transaction.atomic
def demo_firm_seed(*, clients: int = 60) -> SeedSummary:
    """Create the demo firm. Running it again adds nothing and changes nothing."""
    users = demo_users_ensure()
    owners = [users[u] for u, _, _, g in DEMO_USERS if g in (groups.ATTORNEYS, groups.PARALEGALS)]
    managers_and_paralegals = [users["lena.ortiz"], users["sam.okafor"], users["grace.kim"]]
    rng = random.Random(20261125)

    client_rows, matter_rows, case_rows = [], [], []
    matter_total = 200
    case_total = 600
    for index in range(1, clients + 1):
        name, kind = _client_name(rng, index)
        owner = owners[index % len(owners)]
        client_rows.append(
            Client(
                number=f"C-{index:05d}",
                name=name,
                kind=kind,
                email=f"client{index}@example.com",
                phone=f"+44 20 7946 {index:04d}",
                status=rng.choice(list(Client.Status.values)),
                owner=owner,
            )
        )
    Client.objects.bulk_create(client_rows, ignore_conflicts=True)
    client_by_number = {
        c.number: c for c in Client.objects.filter(number__in=[r.number for r in client_rows])
    }

    for index in range(1, matter_total + 1):
        client = client_by_number[f"C-{(index - 1) % clients + 1:05d}"]
        # Most matters stay with the client's owner; some go to a colleague.
        owner = client.owner if rng.random() < 0.7 else rng.choice(owners)
        matter_rows.append(
            Matter(
                client=client,
                number=f"M-{index:06d}",
                title=f"{rng.choice(MATTER_TOPICS)} — {client.name}",
                practice_area=rng.choice(list(Matter.PracticeArea.values)),
                status=Matter.Status.OPEN if rng.random() < 0.75 else Matter.Status.CLOSED,
                owner=owner,
            )
        )
    Matter.objects.bulk_create(matter_rows, ignore_conflicts=True)
    matter_by_number = {
        m.number: m
        for m in Matter.objects.select_related("client").filter(
            number__in=[r.number for r in matter_rows]
        )
    }

    for index in range(1, case_total + 1):
        matter = matter_by_number[f"M-{(index - 1) % matter_total + 1:06d}"]
        owner = matter.owner if rng.random() < 0.7 else rng.choice(owners)
        case_rows.append(
            Case(
                matter=matter,
                client_id=matter.client_id,
                number=f"K-{index:07d}",
                caption=(
                    f"{matter.client.name} v. {rng.choice(LAST_NAMES)} {rng.choice(ORGANISATIONS)}"
                ),
                court=rng.choice(COURTS),
                status=Case.Status.OPEN if rng.random() < 0.7 else Case.Status.CLOSED,
                owner=owner,
            )
        )
    Case.objects.bulk_create(case_rows, ignore_conflicts=True)

    _demo_shares_ensure(rng, managers_and_paralegals)
    _demo_deadlines_ensure(rng, users["helen.ward"])
    return SeedSummary(
        users=User.objects.count(),
        clients=Client.objects.count(),
        matters=Matter.objects.count(),
        cases=Case.objects.count(),
        deadlines=Deadline.objects.count(),
    )


def _demo_deadlines_ensure(rng: random.Random, completer: User) -> None:
    """One deadline on every second open case of the demo firm and one on every fifth
    open matter, each owned by its case's (or matter's) owner, due a few days ago to three
    months ahead; one in six due in the past is done, completed by `completer`. Made once:
    the dates count from the day the firm was seeded."""
    if Deadline.objects.exists():
        return
    today, now = timezone.localdate(), timezone.now()
    kinds = list(Deadline.Kind)
    cases = Case.objects.filter(status=Case.Status.OPEN, number__startswith="K-")
    matters = Matter.objects.filter(status=Matter.Status.OPEN, number__startswith="M-")
    under = [(case.matter_id, case.client_id, case.pk, case.owner_id) for case in cases[::2]]
    under += [(m.pk, m.client_id, None, m.owner_id) for m in matters.order_by("number")[::5]]
    rows = []
    for index, (matter_id, client_id, case_id, owner_id) in enumerate(under):
        kind = kinds[index % len(kinds)]
        due = today + datetime.timedelta(days=DEMO_DUE_OFFSETS[index % len(DEMO_DUE_OFFSETS)])
        done = due < today and index % 6 == 0
        rows.append(
            Deadline(
                matter_id=matter_id,
                client_id=client_id,
                case_id=case_id,
                title=DEADLINE_TITLES[kind],
                due_date=due,
                due_time=datetime.time(9, 30) if kind == Deadline.Kind.HEARING else None,
                kind=kind,
                status=Deadline.Status.DONE if done else Deadline.Status.OPEN,
                owner_id=owner_id,
                completed_by=completer if done else None,
                completed_by_name=completer.full_name if done else "",
                completed_at=now if done else None,
            )
        )
    Deadline.objects.bulk_create(rows)


def _demo_shares_ensure(rng: random.Random, sharers: list[User]) -> None:
    view_matter = Permission.objects.get(codename="view_matter", content_type__app_label="clients")
    view_case = Permission.objects.get(codename="view_case", content_type__app_label="clients")
    matters = list(Matter.objects.order_by("number").values_list("pk", "owner_id")[:200:10])
    cases = list(Case.objects.order_by("number").values_list("pk", "owner_id")[:600:25])
    matter_shares = []
    for pk, owner_id in matters:
        user = sharers[pk % len(sharers)]
        if user.pk != owner_id:
            matter_shares.append(
                MatterUserObjectPermission(content_object_id=pk, user=user, permission=view_matter)
            )
    case_shares = []
    for pk, owner_id in cases:
        user = sharers[pk % len(sharers)]
        if user.pk != owner_id:
            case_shares.append(
                CaseUserObjectPermission(content_object_id=pk, user=user, permission=view_case)
            )
    MatterUserObjectPermission.objects.bulk_create(matter_shares, ignore_conflicts=True)
    CaseUserObjectPermission.objects.bulk_create(case_shares, ignore_conflicts=True)


def bulk_users_ensure(
    usernames: list[str], group_names: list[str], *, inactive_every: int = 0, **fields
) -> list[User]:
    """The users `usernames`, those missing created in bulk, in `group_names` in turn and
    every `inactive_every`-th inactive, with `fields`; by default with no usable password."""
    users = {user.username: user for user in User.objects.filter(username__in=usernames)}
    if missing := [username for username in usernames if username not in users]:
        made = User.objects.bulk_create(
            User(**{"username": username, "first_name": FIRST_NAMES[i % 5],
                    "last_name": f"{LAST_NAMES[i % 7]} {i:04d}", "password": "!",
                    "email": f"{username}@example.com",
                    "is_active": not inactive_every or i % inactive_every != 0} | fields)
            for i, username in enumerate(missing)
        )  # fmt: skip
        ids = dict(Group.objects.filter(name__in=group_names).values_list("name", "pk"))
        User.groups.through.objects.bulk_create(
            User.groups.through(user_id=user.pk, group_id=ids[group_names[i % len(group_names)]])
            for i, user in enumerate(made)
        )
        users |= {user.username: user for user in made}
    return [users[username] for username in usernames]


def _cycled(values: list, index: str) -> str:
    """SQL for values[index % len(values)], on either database."""
    literals = (f"'{value}'" if isinstance(value, str) else str(value) for value in values)
    branches = " ".join(f"WHEN {i} THEN {literal}" for i, literal in enumerate(literals))
    return f"CASE ({index}) %% {len(values)} {branches} END"


def bulk_records_generate(
    *,
    owners: list[User],
    clients: int,
    matters_per_client: int = 5,
    cases_per_matter: int = 5,
    dealt: bool = False,
) -> tuple[int, int, int]:
    """Add `clients` clients, each with its matters and cases, with varied names, kinds,
    areas and statuses: one INSERT ... SELECT per table, so millions of rows take seconds.
    The owners take one block of clients each, in order, with everything under them;
    `dealt`: the clients are dealt to them in turn, and 3 matters or cases in 10 go to
    another owner. Numbers continue after the highest id. Each new case gets a deadline
    (bulk_deadlines_generate)."""
    if clients <= 0:
        return 0, 0, 0
    ids = [owner.pk for owner in owners]
    client_owner = _cycled(ids, "c * 7" if dealt else f"(c - 1) * {len(ids)} / {clients}")

    def owner(step: int) -> str:  # of row n, under client c
        other = _cycled(ids, f"n * {step}")
        return (
            f"CASE WHEN n %% 10 < 7 THEN {client_owner} ELSE {other} END" if dealt else client_owner
        )

    def last(index: str) -> str:
        return _cycled(LAST_NAMES[:8], index)

    def organisation(index: str) -> str:
        return _cycled(ORGANISATIONS[:8], index)

    person = f"{_cycled(FIRST_NAMES[:10], 'n')} || ' ' || {last('n / 10')}"
    per_client = matters_per_client * cases_per_matter
    tables = (
        (Client, clients, "g AS c", "number, name, kind, email, phone, address, status",
         f"'C-' || LPAD(CAST(n AS TEXT), 7, '0'), CASE WHEN n %% 3 = 0 THEN {last('n')} || ' ' "
         f"|| {organisation('n / 8')} ELSE {person} END || ' ' || n, CASE WHEN n %% 3 = 0 THEN "
         "'organisation' ELSE 'person' END, 'client' || n || '@example.com', '', '', "
         f"{_cycled(Client.Status.values, 'n')}, {client_owner}"),
        (Matter, clients * matters_per_client, f"(g - 1) / {matters_per_client} + 1 AS c",
         "client_id, number, title, practice_area, status",
         f"{{client}} + c, 'M-' || LPAD(CAST(n AS TEXT), 8, '0'), "
         f"{_cycled(MATTER_TOPICS[:6], 'n')} || ' ' || n, "
         f"{_cycled(Matter.PracticeArea.values, 'n')}, "
         f"CASE WHEN n %% 4 = 0 THEN 'closed' ELSE 'open' END, {owner(13)}"),
        (Case, clients * per_client,
         f"(g - 1) / {cases_per_matter} + 1 AS m, (g - 1) / {per_client} + 1 AS c",
         "matter_id, client_id, number, caption, court, status",
         f"{{matter}} + m, {{client}} + c, 'K-' || LPAD(CAST(n AS TEXT), 9, '0'), {last('c')} "
         f"|| ' v. ' || {last('n')} || ' ' || {organisation('n / 7')} || ' ' || n, "
         f"{_cycled(COURTS[:5], 'n')}, CASE WHEN n %% 3 = 0 THEN 'closed' ELSE 'open' END, "
         f"{owner(17)}"),
    )  # fmt: skip
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    first = {}  # the id before each table's first new row: one statement numbers them in turn
    with transaction.atomic(), connection.cursor() as cursor:
        for model, count, index, columns, values in tables:
            table = model._meta.db_table
            series = f"generate_series(1, {count}) AS series(g)"
            if connection.vendor != "postgresql":  # SQLite: no generate_series
                series = (
                    f"(WITH RECURSIVE series(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM series"
                    f" WHERE g < {count}) SELECT g FROM series) AS series"
                )
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            start = cursor.fetchone()[0]
            cursor.execute(
                f"INSERT INTO {table} ({columns}, owner_id, created_at, updated_at) SELECT "
                f"{values.format(**first)}, %s, %s FROM (SELECT g, {start} + g AS n, {index} "
                f"FROM {series}) AS numbered",
                [now, now],
            )
            cursor.execute(f"SELECT max(id) - {count} FROM {table}")
            first[model._meta.model_name] = cursor.fetchone()[0]
        bulk_deadlines_generate(after_case_id=first["case"])
    return clients, clients * matters_per_client, clients * per_client


def bulk_deadlines_generate(*, after_case_id: int = 0) -> int:
    """Add one deadline to each case whose id is above `after_case_id`, owned by the
    case's owner, due from 30 days ago to 120 days ahead, of every kind; one in ten due
    in the past is done. One INSERT ... SELECT, on either database. Returns how many."""
    today = timezone.localdate()
    if connection.vendor == "postgresql":
        due = "CAST(%s AS date) + CAST(id %% 151 - 30 AS integer)"
    else:
        due = "date(%s, (id %% 151 - 30) || ' days')"
    kinds = list(Deadline.Kind)
    title = f"{_cycled([DEADLINE_TITLES[kind] for kind in kinds], 'id')} || ' ' || id"
    done = "id %% 151 < 30 AND id %% 10 = 0"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Deadline._meta.db_table} (matter_id, client_id, case_id, title, "
            "due_date, due_time, kind, status, owner_id, completed_by_id, completed_by_name, "
            "completed_at, created_at, updated_at) "
            f"SELECT matter_id, client_id, id, {title}, {due}, NULL, "
            f"{_cycled([kind.value for kind in kinds], 'id')}, "
            f"CASE WHEN {done} THEN 'done' ELSE 'open' END, owner_id, NULL, "
            f"CASE WHEN {done} THEN 'A former colleague' ELSE '' END, "
            f"CASE WHEN {done} THEN %s END, %s, %s "
            f"FROM {Case._meta.db_table} WHERE id > %s ORDER BY id",
            [today.isoformat(), now, now, now, after_case_id],
        )
        return cursor.rowcount
