"""The bulk generators behind `seed_demo --scale`, the benchmarks, the load test and the
tests with many users: the same SQL on PostgreSQL and SQLite."""

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from clients.demo import bulk_records_generate, bulk_users_ensure, demo_firm_seed
from clients.models import Case, Client, Deadline, Matter
from tests.factories import OwnerFactory
from users import groups
from users.models import User

pytestmark = pytest.mark.django_db


def test_each_owner_takes_a_block_of_clients_with_everything_under_them():
    ada, ben = OwnerFactory(), OwnerFactory()
    made = bulk_records_generate(
        owners=[ada, ben], clients=4, matters_per_client=2, cases_per_matter=3
    )

    assert made == (4, 8, 24)
    clients = list(Client.objects.order_by("pk"))
    assert [client.owner_id for client in clients] == [ada.pk, ada.pk, ben.pk, ben.pk]
    assert Counter(Matter.objects.values_list("client_id", flat=True)) == {c.pk: 2 for c in clients}
    matters = Matter.objects.all()
    assert Counter(Case.objects.values_list("matter_id", flat=True)) == {m.pk: 3 for m in matters}
    assert not Matter.objects.exclude(owner_id=F("client__owner_id")).exists()
    assert not Case.objects.exclude(owner_id=F("matter__owner_id")).exists()
    assert not Case.objects.exclude(client_id=F("matter__client_id")).exists()


def test_records_are_valid_and_varied():
    bulk_records_generate(owners=[OwnerFactory()], clients=12, cases_per_matter=1)

    for record in [*Client.objects.all(), *Matter.objects.all(), *Case.objects.all()]:
        record.full_clean()
    assert {client.kind for client in Client.objects.all()} == set(Client.Kind.values)
    assert len({client.status for client in Client.objects.all()}) == 3
    assert len({matter.practice_area for matter in Matter.objects.all()}) > 3
    assert {case.status for case in Case.objects.all()} == {"open", "closed"}
    assert Client.objects.values("name").distinct().count() == 12


def test_dealt_clients_go_round_the_owners_and_three_in_ten_below_them_go_elsewhere():
    owners = [OwnerFactory() for _ in range(3)]
    bulk_records_generate(
        owners=owners, clients=30, matters_per_client=2, cases_per_matter=5, dealt=True
    )

    per_owner = Counter(Client.objects.values_list("owner_id", flat=True))
    assert per_owner == {owner.pk: 10 for owner in owners}
    elsewhere = Case.objects.exclude(owner_id=F("client__owner_id")).count()
    assert 0.2 * 300 <= elsewhere <= 0.3 * 300
    assert Matter.objects.exclude(owner_id=F("client__owner_id")).exists()


def test_numbers_continue_after_the_records_already_there():
    owner = OwnerFactory()
    bulk_records_generate(owners=[owner], clients=2, matters_per_client=1, cases_per_matter=1)
    bulk_records_generate(owners=[owner], clients=2, matters_per_client=1, cases_per_matter=1)

    numbers = list(Client.objects.order_by("pk").values_list("number", flat=True))
    assert numbers == sorted(set(numbers)) and len(numbers) == 4
    assert all(re.fullmatch(r"C-\d{7}", number) for number in numbers)
    assert Case.objects.filter(number__regex=r"^K-\d{9}$").count() == 4


def test_nothing_to_make_makes_nothing():
    assert bulk_records_generate(owners=[OwnerFactory()], clients=0) == (0, 0, 0)
    assert not Client.objects.exists()


def test_bulk_users_are_made_once_in_their_groups_in_turn():
    kept = OwnerFactory(username="bulk.0")
    names = [f"bulk.{i}" for i in range(6)]

    users = bulk_users_ensure(names, [groups.ATTORNEYS, groups.MANAGERS], inactive_every=4)

    assert [user.username for user in users] == names and users[0].pk == kept.pk
    made = User.objects.filter(username__in=names[1:]).order_by("username")
    assert [list(user.groups.values_list("name", flat=True)) for user in made] == [
        [groups.ATTORNEYS], [groups.MANAGERS], [groups.ATTORNEYS], [groups.MANAGERS],
        [groups.ATTORNEYS],
    ]  # fmt: skip
    assert [user.is_active for user in made] == [False, True, True, True, False]
    assert not any(user.has_usable_password() for user in made)
    assert bulk_users_ensure(names, [groups.ATTORNEYS]) == users
    assert User.objects.filter(username__in=names).count() == 6


def test_each_generated_case_gets_a_valid_deadline_of_its_owner():
    owners = [OwnerFactory() for _ in range(2)]
    bulk_records_generate(
        owners=owners, clients=6, matters_per_client=2, cases_per_matter=3, dealt=True
    )

    deadlines = Deadline.objects.select_related("case")
    assert deadlines.count() == Case.objects.count() == 36
    assert Counter(deadlines.values_list("case_id", flat=True)) == {
        pk: 1 for pk in Case.objects.values_list("pk", flat=True)
    }
    for deadline in deadlines:
        deadline.full_clean()
        case = deadline.case
        assert (deadline.owner_id, deadline.matter_id, deadline.client_id) == (
            case.owner_id,
            case.matter_id,
            case.client_id,
        )
    assert {deadline.kind for deadline in deadlines} == set(Deadline.Kind.values)
    assert deadlines.filter(status="open").count() >= 0.9 * 36


def test_deadlines_of_a_second_batch_go_to_its_cases_only():
    owner = OwnerFactory()
    bulk_records_generate(owners=[owner], clients=1, matters_per_client=1, cases_per_matter=2)
    bulk_records_generate(owners=[owner], clients=1, matters_per_client=1, cases_per_matter=2)
    assert Deadline.objects.count() == 4
    assert Deadline.objects.values("case_id").distinct().count() == 4


def test_the_demo_firm_has_deadlines_overdue_this_week_and_done():
    summary = demo_firm_seed()
    today = timezone.localdate()
    deadlines = Deadline.objects.all()
    assert summary.deadlines == deadlines.count() > 100
    overdue = deadlines.filter(status="open", due_date__lt=today).count()
    this_week = deadlines.filter(due_date__gte=today, due_date__lte=today + timedelta(days=7))
    assert 5 <= overdue < deadlines.count() / 4
    assert this_week.count() >= 5
    done = deadlines.filter(status="done")
    assert done.exists() and not done.filter(completed_at=None).exists()
    assert set(done.values_list("completed_by_name", flat=True)) == {"Helen Ward"}
    for deadline in deadlines:
        deadline.full_clean()
        assert deadline.owner.is_active
    demo_firm_seed()  # again: nothing added
    assert Deadline.objects.count() == summary.deadlines
