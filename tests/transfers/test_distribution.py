"""Distribute: one algorithm (transfers.engine.distribution) for the User Transfer screen
and `transfer_user --distribute`. Properties for any book and any team with
Hypothesis on the algorithm itself, then the selector on the database and the
command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from clients.models import Case, Client, Matter
from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory
from tests.helpers import snapshot
from tests.transfers.engine_support import Phases, at_step
from transfers.engine.distribution import (
    ClientLoad,
    DistributionMode,
    UserLoad,
    client_distribution,
    distribute_clients,
)
from transfers.engine.holdings import held_counts, linked_clients
from transfers.engine.services import records_transfer_distributed
from transfers.errors import TransferRefused
from transfers.models import Transfer

# --- Properties of the algorithm ------------------------------------------------

client_loads = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 30), st.integers(0, 400)),  # client, matters, cases
    max_size=120,
).map(
    lambda rows: [
        ClientLoad(client_id=1000 + i, clients=c, matters=m, cases=k, sort_key=(i,))
        for i, (c, m, k) in enumerate(rows)
    ]
)
user_loads = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 200), st.integers(0, 2000)),
    min_size=1,
    max_size=8,
)
modes = st.sampled_from([DistributionMode.WORKLOAD, DistributionMode.ROUND_ROBIN])


def team(starts):
    return [
        UserLoad(user_id=10 + i, start_clients=c, start_matters=m, start_cases=k)
        for i, (c, m, k) in enumerate(starts)
    ]


@settings(max_examples=300, deadline=None)
@given(clients=client_loads, starts=user_loads, mode=modes)
def test_every_client_goes_to_exactly_one_chosen_user(clients, starts, mode):
    users = team(starts)
    assignments = distribute_clients(clients, users, mode)
    assert sorted(assignments) == sorted(c.client_id for c in clients)
    assert set(assignments.values()) <= {u.user_id for u in users}
    # What each user is said to receive is exactly the clients given to them.
    by_id = {c.client_id: c for c in clients}
    for user in users:
        mine = [by_id[pk] for pk, uid in assignments.items() if uid == user.user_id]
        assert user.received_links == len(mine)
        assert user.received_clients == sum(c.clients for c in mine)
        assert user.received_matters == sum(c.matters for c in mine)
        assert user.received_cases == sum(c.cases for c in mine)


@settings(max_examples=300, deadline=None)
@given(clients=client_loads, starts=user_loads)
def test_by_workload_keeps_within_the_greedy_bound(clients, starts):
    users = team(starts)
    distribute_clients(clients, users, DistributionMode.WORKLOAD)
    resulting = [u.cases for u in users]
    biggest_client = max((c.cases for c in clients), default=0)
    biggest_start = max(u.start_cases for u in users)
    bound = max(biggest_client, biggest_start - min(resulting))
    assert max(resulting) - min(resulting) <= bound


@settings(max_examples=200, deadline=None)
@given(clients=client_loads, starts=user_loads)
def test_round_robin_deals_in_the_stable_order(clients, starts):
    users = team(starts)
    assignments = distribute_clients(clients, users, DistributionMode.ROUND_ROBIN)
    ordered = sorted(clients, key=lambda c: c.sort_key)
    assert [assignments[c.client_id] for c in ordered] == [
        users[i % len(users)].user_id for i in range(len(ordered))
    ]
    counts = [u.received_links for u in users]
    assert max(counts) - min(counts) <= 1


@settings(max_examples=100, deadline=None)
@given(clients=client_loads, starts=user_loads, mode=modes)
def test_the_same_input_gives_the_same_proposal(clients, starts, mode):
    first = distribute_clients(clients, team(starts), mode)
    assert distribute_clients(list(reversed(clients)), team(starts), mode) == first


def test_largest_client_first_to_the_least_loaded():
    clients = [
        ClientLoad(client_id=1, clients=1, matters=1, cases=1, sort_key=(0,)),
        ClientLoad(client_id=2, clients=1, matters=2, cases=9, sort_key=(1,)),
        ClientLoad(client_id=3, clients=1, matters=1, cases=5, sort_key=(2,)),
    ]
    users = [
        UserLoad(user_id=10, start_clients=0, start_matters=0, start_cases=4),
        UserLoad(user_id=20, start_clients=0, start_matters=0, start_cases=0),
    ]
    # 9 cases to user 20 (0 before), 5 to user 10 (4 before); then both have
    # 9 cases and 1 client, and user 10 fewer matters: the last goes to 10.
    assert distribute_clients(clients, users, DistributionMode.WORKLOAD) == {2: 20, 3: 10, 1: 10}
    assert [u.cases for u in users] == [10, 9]


def test_ties_on_cases_go_to_fewer_clients():
    clients = [ClientLoad(client_id=1, clients=1, matters=0, cases=0, sort_key=(0,))]
    users = [
        UserLoad(user_id=10, start_clients=5, start_matters=0, start_cases=3),
        UserLoad(user_id=20, start_clients=2, start_matters=0, start_cases=3),
    ]
    assert distribute_clients(clients, users, DistributionMode.WORKLOAD) == {1: 20}


def test_a_book_without_cases_is_split_evenly_by_matters():
    """Three clients with no cases and 1, 1 and 2 matters (the 2-matter client
    last by name): the largest goes first, so two empty users get 2 matters each,
    not 3 and 1."""
    clients = [
        ClientLoad(client_id=1, clients=1, matters=1, cases=0, sort_key=(0,)),
        ClientLoad(client_id=2, clients=1, matters=1, cases=0, sort_key=(1,)),
        ClientLoad(client_id=3, clients=1, matters=2, cases=0, sort_key=(2,)),
    ]
    users = team([(0, 0, 0), (0, 0, 0)])
    distribute_clients(clients, users, DistributionMode.WORKLOAD)
    assert sorted(user.matters for user in users) == [2, 2]
    assert sorted(user.clients for user in users) == [1, 2]


def test_no_users_or_an_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match=r"^Distribute needs at least one user\.$"):
        distribute_clients([], [], DistributionMode.WORKLOAD)
    with pytest.raises(ValueError, match=r"^Unknown distribution mode 'alphabetical'\.$"):
        distribute_clients([], team([(0, 0, 0)]), "alphabetical")


# --- The selector on the database ------------------------------------------------


@pytest.fixture
def book(db):
    """Leaver linked to three clients: Big (owned, 4 cases), Mid (owned,
    2 cases), Other (someone else's client, the leaver holds 1 matter, 1 case)."""
    leaver = OwnerFactory(username="leaver", first_name="Lee", last_name="Ver")
    ana = OwnerFactory(username="ana", first_name="Ana", last_name="A")
    bo = OwnerFactory(username="bo", first_name="Bo", last_name="B")
    big = ClientFactory(name="Big", number="C-1", owner=leaver)
    matter = MatterFactory(client=big, owner=leaver)
    CaseFactory.create_batch(4, matter=matter, client=big, owner=leaver)
    mid = ClientFactory(name="Mid", number="C-2", owner=leaver)
    matter = MatterFactory(client=mid, owner=leaver)
    CaseFactory.create_batch(2, matter=matter, client=mid, owner=leaver)
    other = ClientFactory(name="Other", number="C-3", owner=bo)
    matter = MatterFactory(client=other, owner=leaver)
    CaseFactory(matter=matter, client=other, owner=leaver)
    # Ana already owns 3 cases.
    matter = MatterFactory(owner=ana)
    CaseFactory.create_batch(3, matter=matter, client=matter.client, owner=ana)
    return leaver, ana, bo, big, mid, other


def test_selector_counts_what_moves_and_what_they_own(book, django_assert_num_queries):
    leaver, ana, bo, big, mid, other = book
    with django_assert_num_queries(2):
        distribution = client_distribution(old_user=leaver, to_users=[ana, bo])
    # Big (4) to Bo (0 cases), Mid (2) to Ana (3), Other (1) to Ana (5) or Bo (4): Bo.
    assert distribution.assignments == {big.pk: bo.pk, mid.pk: ana.pk, other.pk: bo.pk}
    ana_load, bo_load = distribution.loads
    assert (ana_load.start_cases, ana_load.cases) == (3, 5)
    assert (bo_load.start_clients, bo_load.start_cases, bo_load.clients, bo_load.cases) == (
        1,
        0,
        2,  # Big is owned by the leaver and moves; Other is Bo's already
        5,
    )
    assert (bo_load.received_links, bo_load.received_matters) == (2, 2)


def test_selector_reads_only(book):
    leaver, ana, bo, *_ = book
    before = snapshot()
    client_distribution(old_user=leaver, to_users=[ana, bo], mode=DistributionMode.ROUND_ROBIN)
    assert snapshot() == before


def test_round_robin_deals_the_clients_in_name_order(book):
    """Round robin follows the clients as the screen lists them (by name), not the order
    they were created in."""
    leaver, ana, bo, big, mid, other = book
    aardvark = ClientFactory(name="Aardvark", number="C-4", owner=leaver)
    distribution = client_distribution(
        old_user=leaver, to_users=[ana, bo], mode=DistributionMode.ROUND_ROBIN
    )
    assert distribution.assignments == {
        aardvark.pk: ana.pk,
        big.pk: bo.pk,
        mid.pk: ana.pk,
        other.pk: bo.pk,
    }


def test_users_named_by_id_are_distributed_to_as_users_are(book):
    """The command line names users by id; a user named twice counts once."""
    leaver, ana, bo, *_ = book
    by_user = client_distribution(old_user=leaver, to_users=[ana, bo])
    by_id = client_distribution(old_user=leaver.pk, to_users=[ana.pk, bo.pk, ana.pk])
    assert by_id.assignments == by_user.assignments
    assert [load.user_id for load in by_id.loads] == [ana.pk, bo.pk]
    assert by_id.users == {ana.pk: ana, bo.pk: bo}  # whom the proposal names


def test_no_user_to_distribute_to_proposes_nothing(book):
    """Distribute before choosing a user, or with a user deleted since: an empty
    proposal, not an error."""
    leaver, *_ = book
    for to_users in ([], [999_999]):
        distribution = client_distribution(old_user=leaver, to_users=to_users)
        assert (distribution.assignments, distribution.loads) == ({}, [])


# --- records_transfer_distributed --------------------------------------------------


def test_distribute_moves_now_in_the_mode_asked_and_leaves_the_old_user_active(book, administrator):
    """Round robin deals Big, Mid, Other to Ana, Bo, Ana (by workload Big would go to
    Bo); a Save sent twice gives its one receipt back; the worker's progress is told."""
    leaver, ana, bo, big, mid, other = book
    hook = Phases()
    arguments = {
        "acting_user": administrator,
        "old_user": leaver,
        "to_users": [ana, bo],
        "mode": DistributionMode.ROUND_ROBIN,
        "request_key": "distribute-once",
    }

    result = records_transfer_distributed(**arguments, progress=hook)

    transfer = result.transfer
    assert (transfer.mode, result.replayed) == (Transfer.Mode.PER_CLIENT, False)
    assert Client.objects.get(pk=big.pk).owner == ana
    assert Client.objects.get(pk=mid.pk).owner == bo
    assert set(Matter.objects.filter(client=other).values_list("owner", flat=True)) == {ana.pk}
    leaver.refresh_from_db()
    assert leaver.is_active
    assert hook.seen[-1] == "receipt" and hook.counts.phrases(zeros=False) == [
        "2 clients",
        "3 matters",
        "7 cases",
    ]

    again = records_transfer_distributed(**arguments)
    assert again.replayed and again.transfer == transfer
    assert Transfer.objects.count() == 1


def test_a_client_linked_while_distribute_waited_for_its_locks_refuses_it(book, administrator):
    """The proposal is read before the locks: a client linked to the leaver in between
    makes the form stale, as on the User Transfer screen, and nothing moves."""
    leaver, ana, bo, *_ = book

    def linked_meanwhile(**details):
        MatterFactory(client=ClientFactory(name="Late", number="C-9", owner=bo), owner=leaver)

    before = snapshot()
    with at_step("locked", linked_meanwhile), pytest.raises(TransferRefused) as refused:
        records_transfer_distributed(acting_user=administrator, old_user=leaver, to_users=[ana, bo])
    assert refused.value.code == "stale_form"
    assert snapshot() == before


# --- transfer_user --distribute ----------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("transfer_user", *args, stdout=out)
    return out.getvalue()


def test_command_distributes_as_the_screen_does(book, administrator):
    leaver, ana, bo, big, mid, other = book
    expected = client_distribution(old_user=leaver, to_users=[ana, bo]).assignments
    output = run("leaver", "--distribute", "ana,bo", "--by", administrator.username)
    transfer = Transfer.objects.get()
    assert transfer.mode == Transfer.Mode.PER_CLIENT
    assert f"Receipt: transfer #{transfer.pk}" in output
    assert Client.objects.get(pk=big.pk).owner_id == expected[big.pk] == bo.pk
    assert Client.objects.get(pk=mid.pk).owner_id == expected[mid.pk] == ana.pk
    assert Client.objects.get(pk=other.pk).owner_id == bo.pk
    assert not Matter.objects.filter(owner=leaver).exists()
    assert not Case.objects.filter(owner=leaver).exists()


def test_command_round_robin_dry_run(book, administrator):
    leaver, ana, bo, big, mid, other = book
    before = snapshot()
    output = run(
        "leaver",
        "--distribute",
        "bo, ana",
        "--round-robin",
        "--by",
        administrator.username,
        "--dry-run",
    )
    assert snapshot() == before
    assert not Transfer.objects.exists()
    assert output.startswith("Dry run: nothing was changed.")
    # Rows in order Big, Mid, Other dealt to bo, ana, bo.
    assert "to Bo B (bo): 1 clients, 2 matters, 5 cases" in output
    assert "    clients: C-1, C-3" in output
    assert "to Ana A (ana): 1 clients, 1 matters, 2 cases" in output


def test_command_deactivates_when_asked(book, administrator):
    leaver, ana, bo, *_ = book
    run("leaver", "--distribute", "ana,bo", "--by", administrator.username, "--deactivate")
    leaver.refresh_from_db()
    assert not leaver.is_active


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--distribute", "ana,nobody"], "Unknown usernames in --distribute: nobody"),
        (["--distribute", " , "], "--distribute needs at least one username"),
        (["--distribute", "ana,leaver"], r"Refused \(same_user\)"),
        (["--to", "ana", "--round-robin"], "--round-robin goes with --distribute"),
    ],
    ids=["unknown-user", "no-user", "the-old-user", "round-robin-alone"],
)
def test_command_refusals_change_nothing(book, administrator, args, message):
    before = snapshot()
    with pytest.raises(CommandError, match=message):
        run("leaver", *args, "--by", administrator.username)
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_each_users_totals_add_every_client_they_receive_kept_rows_included(book):
    """What the screen shows per user after Distribute: everything they own before,
    plus every client proposed to them and every row already assigned to them."""
    leaver, ana, bo, big, mid, other = book
    distribution = client_distribution(old_user=leaver, to_users=[ana, bo], kept={mid.pk: ana.pk})
    # Mid stays Ana's; Big (4 cases) goes to Bo (0), then Other (1) to Bo (4) before Ana (5).
    assert distribution.assignments == {big.pk: bo.pk, other.pk: bo.pk}
    held = {client.pk: held_counts(client) for client in linked_clients(user=leaver)}
    ana_load, bo_load = distribution.loads
    assert ana_load.received_counts.to_json() == held[mid.pk].to_json()
    assert bo_load.received_counts.to_json() == (held[big.pk] + held[other.pk]).to_json()
    assert (ana_load.start_counts["case"], ana_load.counts["case"]) == (3, 5)
    assert (bo_load.start_counts["client"], bo_load.counts["client"]) == (1, 2)
    assert bo_load.counts["case"] == 5
