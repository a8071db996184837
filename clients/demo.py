"""The demo firm: deterministic users, clients, matters, cases and shares,
and bulk generation of large volumes for benchmarks."""

import random
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from clients.models import (
    Case,
    CaseUserObjectPermission,
    Client,
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


@dataclass
class SeedSummary:
    users: int
    clients: int
    matters: int
    cases: int


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
    return SeedSummary(
        users=User.objects.count(),
        clients=Client.objects.count(),
        matters=Matter.objects.count(),
        cases=Case.objects.count(),
    )


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


def bulk_records_generate(
    *,
    owner: User,
    clients: int,
    matters_per_client: int = 5,
    cases_per_matter: int = 5,
    batch_size: int = 5000,
) -> tuple[int, int, int]:
    """Add `clients` clients owned by `owner`, each with its matters and cases,
    with bulk inserts. Numbers continue after the highest existing id."""
    start = (Client.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    matter_start = (Matter.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    case_start = (Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    made = [0, 0, 0]
    chunk = max(1, batch_size // (matters_per_client * cases_per_matter))
    matter_no, case_no = matter_start, case_start
    for chunk_start in range(0, clients, chunk):
        count = min(chunk, clients - chunk_start)
        new_clients = Client.objects.bulk_create(
            [
                Client(
                    number=f"C-{start + chunk_start + i:07d}",
                    name=f"Client {start + chunk_start + i}",
                    owner_id=owner.pk,
                )
                for i in range(count)
            ],
            batch_size=batch_size,
        )
        new_matters = []
        for client in new_clients:
            for _ in range(matters_per_client):
                new_matters.append(
                    Matter(
                        client_id=client.pk,
                        number=f"M-{matter_no:08d}",
                        title=f"Matter {matter_no}",
                        owner_id=owner.pk,
                    )
                )
                matter_no += 1
        new_matters = Matter.objects.bulk_create(new_matters, batch_size=batch_size)
        new_cases = []
        for matter in new_matters:
            for _ in range(cases_per_matter):
                new_cases.append(
                    Case(
                        matter_id=matter.pk,
                        client_id=matter.client_id,
                        number=f"K-{case_no:09d}",
                        caption=f"Case {case_no}",
                        owner_id=owner.pk,
                    )
                )
                case_no += 1
        Case.objects.bulk_create(new_cases, batch_size=batch_size)
        made[0] += len(new_clients)
        made[1] += len(new_matters)
        made[2] += len(new_cases)
    return made[0], made[1], made[2]
