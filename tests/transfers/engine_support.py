"""Shared helpers of the transfer engine tests: a small firm whose owners are
mixed inside its clients, who owns and holds what, and a hook into the steps
of a transfer (transfers.engine.faults.fault_point)."""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.contrib.auth.models import Group

from clients.models import (
    Case,
    CaseGroupObjectPermission,
    CaseUserObjectPermission,
    Client,
    ClientUserObjectPermission,
    Matter,
    MatterUserObjectPermission,
)
from tests.factories import (
    CaseFactory,
    CaseShareFactory,
    ClientFactory,
    ClientShareFactory,
    MatterFactory,
    MatterShareFactory,
    OwnerFactory,
)
from tests.helpers import USER_SHARE_MODELS, permission
from transfers.engine import faults
from transfers.engine.progress import ProgressHook
from users.models import User


def owners(model) -> dict[int, int]:
    return dict(model.objects.values_list("pk", "owner_id"))


def owned_by(user) -> int:
    """How many clients, matters and cases `user` owns."""
    return sum(model.objects.filter(owner=user).count() for model in (Client, Matter, Case))


@dataclass
class MixedFirm:
    old: User
    new: User
    other: User
    own_client: Client  # owned by old
    own_matter: Matter  # old's matter under old's client
    others_matter_in_own: Matter  # other's matter under old's client
    own_case_in_others_matter: Case  # old's case under other's matter, old's client
    own_case: Case  # old's case under own_matter
    others_client: Client  # owned by other, linked to old through a matter and a case
    own_matter_in_others: Matter
    own_case_in_others: Case
    others_case_in_own_matter: Case
    unlinked_client: Client  # other's only
    unlinked_matter: Matter
    unlinked_case: Case
    share_unlinked_client: ClientUserObjectPermission  # old's share outside linked clients
    share_others_case: CaseUserObjectPermission  # old's share inside others_client (new has it too)
    share_new_duplicate: CaseUserObjectPermission
    share_matter: MatterUserObjectPermission  # old's share on other's matter in own client


def build_mixed_firm() -> MixedFirm:
    old = OwnerFactory(username="old.owner", first_name="Oscar", last_name="Old")
    new = OwnerFactory(username="new.owner", first_name="Nora", last_name="New")
    other = OwnerFactory(username="other.owner", first_name="Otto", last_name="Other")

    own_client = ClientFactory(owner=old, name="Acme")
    own_matter = MatterFactory(client=own_client, owner=old)
    others_matter_in_own = MatterFactory(client=own_client, owner=other)
    own_case_in_others_matter = CaseFactory(matter=others_matter_in_own, owner=old)
    own_case = CaseFactory(matter=own_matter, owner=old)

    others_client = ClientFactory(owner=other, name="Brown")
    own_matter_in_others = MatterFactory(client=others_client, owner=old)
    others_matter = MatterFactory(client=others_client, owner=other)
    own_case_in_others = CaseFactory(matter=others_matter, owner=old)
    others_case_in_own_matter = CaseFactory(matter=own_matter_in_others, owner=other)

    unlinked_client = ClientFactory(owner=other, name="Crane")
    unlinked_matter = MatterFactory(client=unlinked_client, owner=other)
    unlinked_case = CaseFactory(matter=unlinked_matter, owner=other)

    share_unlinked_client = ClientShareFactory(content_object=unlinked_client, user=old)
    share_others_case = CaseShareFactory(content_object=others_case_in_own_matter, user=old)
    share_new_duplicate = CaseShareFactory(content_object=others_case_in_own_matter, user=new)
    share_matter = MatterShareFactory(
        content_object=others_matter_in_own, user=old, permission=permission("change_matter")
    )
    # Shares of others, and a group share, that no transfer may touch.
    ClientShareFactory(content_object=own_client, user=other)
    CaseGroupObjectPermission.objects.create(
        content_object=own_case,
        group=Group.objects.get(name="Managers"),
        permission=permission("view_case"),
    )
    return MixedFirm(
        old=old,
        new=new,
        other=other,
        own_client=own_client,
        own_matter=own_matter,
        others_matter_in_own=others_matter_in_own,
        own_case_in_others_matter=own_case_in_others_matter,
        own_case=own_case,
        others_client=others_client,
        own_matter_in_others=own_matter_in_others,
        own_case_in_others=own_case_in_others,
        others_case_in_own_matter=others_case_in_own_matter,
        unlinked_client=unlinked_client,
        unlinked_matter=unlinked_matter,
        unlinked_case=unlinked_case,
        share_unlinked_client=share_unlinked_client,
        share_others_case=share_others_case,
        share_new_duplicate=share_new_duplicate,
        share_matter=share_matter,
    )


def user_shares(user: User) -> set[tuple[str, int, int]]:
    rows = set()
    for model in USER_SHARE_MODELS:
        for obj, perm in model.objects.filter(user=user).values_list(
            "content_object_id", "permission_id"
        ):
            rows.add((model.__name__, obj, perm))
    return rows


@contextmanager
def at_step(step: str, action: Callable[..., object], *, call: int = 1) -> Iterator[Counter]:
    """Run `action(**details)` inside a transfer or revert once it has done
    its `call`-th `step` (see transfers.engine.faults): raise there to inject a
    fault, wait there to hold the transaction open. Yields the count of every
    step reached."""
    reached: Counter = Counter()

    def fault_point(name: str, **details: object) -> None:
        reached[name] += 1
        if name == step and reached[name] == call:
            action(**details)

    with mock.patch.object(faults, "fault_point", fault_point):
        yield reached


class Phases(ProgressHook):
    """A progress hook that keeps every phase it was told of, in order."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def changed(self):
        self.seen.append(self.phase)
