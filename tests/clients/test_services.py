"""Record writes that give a record an owner: validated under a lock."""

import datetime
import re

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import Case, Client, Deadline, Matter
from clients.services import (
    UNRECORDED_OWNER_CHANGE,
    case_create,
    client_create,
    deadline_create,
    matter_create,
    record_owner_change,
    record_update,
)
from clients.signals import owner_changed
from tests.factories import (
    CaseFactory,
    ClientFactory,
    DeadlineFactory,
    MatterFactory,
    OwnerFactory,
    UserFactory,
)
from tests.helpers import snapshot
from transfers.models import Transfer
from users import groups

pytestmark = pytest.mark.django_db


def owner_error_code(call, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    return caught.value.error_dict["owner"][0].code


def test_create_client_matter_and_case(administrator):
    owner = OwnerFactory()
    client = client_create(
        acting_user=administrator, owner=owner, number="C-90001", name="Delta Ltd"
    )
    matter = matter_create(
        acting_user=administrator, owner=owner.pk, client=client, number="M-90001", title="Lease"
    )
    case = case_create(
        acting_user=administrator, owner=owner, matter=matter, number="K-90001", caption="D v E"
    )
    assert Client.objects.get(pk=client.pk).owner == owner
    assert Matter.objects.get(pk=matter.pk).client == client
    stored = Case.objects.get(pk=case.pk)
    assert (stored.client_id, stored.owner_id) == (client.pk, owner.pk)


@pytest.mark.parametrize(
    ("make_owner", "code"),
    [
        (lambda: OwnerFactory(is_active=False), "owner_inactive"),
        (lambda: UserFactory(groups=[groups.MANAGERS]), "owner_ineligible"),
    ],
)
def test_records_are_refused_for_inactive_or_ineligible_owners(administrator, make_owner, code):
    owner = make_owner()
    assert (
        owner_error_code(
            client_create, acting_user=administrator, owner=owner, number="C-1", name="X"
        )
        == code
    )
    client = ClientFactory()
    assert (
        owner_error_code(
            matter_create,
            acting_user=administrator,
            owner=owner,
            client=client,
            number="M-1",
            title="t",
        )
        == code
    )
    matter = MatterFactory(client=client)
    assert (
        owner_error_code(
            case_create,
            acting_user=administrator,
            owner=owner,
            matter=matter,
            number="K-1",
            caption="c",
        )
        == code
    )
    assert (
        owner_error_code(
            record_owner_change, acting_user=administrator, record=client, new_owner=owner
        )
        == code
    )
    assert Client.objects.get(pk=client.pk).owner_id == client.owner_id
    assert not Client.objects.filter(number="C-1").exists()


def test_the_owner_is_validated_as_stored_not_as_passed(administrator):
    """The row is re-read under the lock: a stale in-memory user object that
    still says active does not let a record through."""
    owner = OwnerFactory()
    stale = type(owner).objects.get(pk=owner.pk)
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    assert stale.is_active
    assert (
        owner_error_code(
            client_create, acting_user=administrator, owner=stale, number="C-2", name="Y"
        )
        == "owner_inactive"
    )


def test_owner_change_writes_owner_and_updated_at(administrator):
    client = ClientFactory()
    before = Client.objects.get(pk=client.pk).updated_at
    new_owner = OwnerFactory()
    record_owner_change(acting_user=administrator, record=client, new_owner=new_owner)
    stored = Client.objects.get(pk=client.pk)
    assert stored.owner == new_owner
    assert stored.updated_at > before
    # The caller's copy is the stored record, and the ownership history is dated
    # with the same instant.
    assert (client.owner, client.updated_at) == (new_owner, stored.updated_at)
    change = Transfer.objects.get(mode=Transfer.Mode.OWNER_CHANGE)
    assert change.created_at == stored.updated_at
    # Given to its owner again: nothing is written, the copy still names the owner.
    again = record_owner_change(acting_user=administrator, record=client, new_owner=new_owner)
    assert again.owner == new_owner
    assert Transfer.objects.count() == 1


def test_owner_change_rejects_other_models(administrator):
    with pytest.raises(TypeError):
        record_owner_change(acting_user=administrator, record=administrator, new_owner=1)


def test_invalid_fields_are_refused(administrator):
    owner = OwnerFactory()
    ClientFactory(number="C-DUP")
    with pytest.raises(ValidationError) as caught:
        client_create(acting_user=administrator, owner=owner, number="C-DUP", name="Z")
    assert "number" in caught.value.error_dict


def test_record_update_writes_only_the_changed_fields_and_the_case_follows_its_matter(
    administrator,
):
    case = CaseFactory(court="High Court")
    other_matter = MatterFactory()
    # Another session gives the case a new owner after this copy was read.
    stale = Case.objects.get(pk=case.pk)
    new_owner = OwnerFactory()
    Case.objects.filter(pk=case.pk).update(owner=new_owner)

    record_update(
        acting_user=administrator, record=stale, court="County Court", matter=other_matter
    )
    case.refresh_from_db()
    assert (case.court, case.matter, case.client) == (
        "County Court",
        other_matter,
        other_matter.client,
    )
    assert case.owner == new_owner  # not put back
    assert stale.client_id == other_matter.client_id


def test_record_update_validates_like_the_model(administrator):
    taken = ClientFactory(number="C-TAKEN")
    client = ClientFactory()
    with pytest.raises(ValidationError) as refused:
        record_update(acting_user=administrator, record=client, number=taken.number)
    assert [e.code for e in refused.value.error_dict["number"]] == ["unique"]
    client.refresh_from_db()
    assert client.number != "C-TAKEN"


def test_record_update_moves_a_matters_cases_with_it_to_another_client(administrator):
    case = CaseFactory()
    other_client = ClientFactory()
    record_update(acting_user=administrator, record=case.matter, client=other_client)
    case.refresh_from_db()
    assert (case.matter.client, case.client) == (other_client, other_client)


def test_each_record_is_created_with_every_field_given(administrator):
    owner = OwnerFactory()
    client = client_create(
        acting_user=administrator,
        owner=owner,
        number="C-ALL",
        name="Every Field Ltd",
        kind=Client.Kind.ORGANISATION,
        email="office@example.com",
        phone="+44 20 0000 0000",
        address="1 Long Row",
        status=Client.Status.PROSPECTIVE,
    )
    stored = Client.objects.get(pk=client.pk)
    assert (stored.kind, stored.email, stored.phone, stored.address, stored.status) == (
        "organisation",
        "office@example.com",
        "+44 20 0000 0000",
        "1 Long Row",
        "prospective",
    )
    matter = matter_create(
        acting_user=administrator,
        owner=owner,
        client=client,
        number="M-ALL",
        title="Every field",
        practice_area=Matter.PracticeArea.FAMILY,
        status=Matter.Status.CLOSED,
    )
    stored = Matter.objects.get(pk=matter.pk)
    assert (stored.practice_area, stored.status) == ("family", "closed")
    case = case_create(
        acting_user=administrator,
        owner=owner,
        matter=matter,
        number="K-ALL",
        caption="A v B",
        court="Court of Appeal",
        status=Case.Status.CLOSED,
    )
    stored = Case.objects.get(pk=case.pk)
    assert (stored.court, stored.status) == ("Court of Appeal", "closed")
    before = timezone.now()
    deadline = deadline_create(
        acting_user=administrator,
        owner=owner,
        matter=matter,
        case=case,
        title="Serve the defence",
        due_date=datetime.date(2027, 1, 15),
        kind=Deadline.Kind.FILING,
        status=Deadline.Status.DONE,
    )
    stored = Deadline.objects.get(pk=deadline.pk)
    assert (stored.kind, stored.status, stored.case) == ("filing", "done", case)
    # Created done: who completed it and when, as a later status change would say.
    assert (stored.completed_by, stored.completed_by_name) == (
        administrator,
        administrator.full_name,
    )
    assert before <= stored.completed_at <= timezone.now()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"owner": 1}, "Change an owner with record_owner_change."),
        ({"owner_id": 1}, "Change an owner with record_owner_change."),
        *[
            (
                {field: None},
                "A deadline's completion follows its status: change the status.",
            )
            for field in ("completed_by", "completed_by_name", "completed_at")
        ],
    ],
    ids=["owner", "owner_id", "completed_by", "completed_by_name", "completed_at"],
)
def test_an_update_refuses_the_fields_other_services_keep(administrator, changes, message):
    deadline = DeadlineFactory()
    before = snapshot()
    with pytest.raises(ValueError) as refused:
        record_update(acting_user=administrator, record=deadline, **changes)
    assert str(refused.value) == message
    assert snapshot() == before


def test_fields_not_given_are_left_empty_or_at_their_defaults(administrator):
    owner = OwnerFactory()
    client = client_create(acting_user=administrator, owner=owner, number="C-MIN", name="Bare")
    stored = Client.objects.get(pk=client.pk)
    assert (stored.kind, stored.email, stored.phone, stored.address, stored.status) == (
        "person",
        "",
        "",
        "",
        "active",
    )
    matter = matter_create(
        acting_user=administrator, owner=owner, client=client, number="M-MIN", title="Bare"
    )
    stored = Matter.objects.get(pk=matter.pk)
    assert (stored.practice_area, stored.status) == ("litigation", "open")
    case = case_create(
        acting_user=administrator, owner=owner, matter=matter, number="K-MIN", caption="A v B"
    )
    stored = Case.objects.get(pk=case.pk)
    assert (stored.court, stored.status) == ("", "open")


def test_a_deadline_completed_by_no_user_names_no_one(administrator):
    """A deadline created or marked done by the system (no acting user) records
    when, and no name, for the deadline page's "Completed by"."""
    matter = MatterFactory()
    created_done = deadline_create(
        acting_user=None,
        owner=matter.owner,
        matter=matter,
        title="Filed by the import",
        due_date=datetime.date(2027, 1, 15),
        status=Deadline.Status.DONE,
    )
    marked_done = DeadlineFactory(matter=matter, case=None)
    record_update(acting_user=None, record=marked_done, status=Deadline.Status.DONE)
    for deadline in (created_done, marked_done):
        stored = Deadline.objects.get(pk=deadline.pk)
        assert (stored.status, stored.completed_by, stored.completed_by_name) == ("done", None, "")
        assert stored.completed_at is not None


def test_marking_done_a_deadline_already_done_writes_nothing(administrator):
    deadline = DeadlineFactory()
    record_update(acting_user=administrator, record=deadline, status=Deadline.Status.DONE)
    first = Deadline.objects.get(pk=deadline.pk)
    someone_else = UserFactory(first_name="Someone", last_name="Else")

    with CaptureQueriesContext(connection) as queries:
        returned = record_update(
            acting_user=someone_else, record=deadline, status=Deadline.Status.DONE
        )
    assert returned is deadline
    assert not [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    again = Deadline.objects.get(pk=deadline.pk)
    assert (again.updated_at, again.completed_by_name, again.completed_at) == (
        first.updated_at,
        administrator.full_name,
        first.completed_at,
    )


def test_a_change_beside_a_repeated_done_keeps_the_first_completion(administrator):
    deadline = DeadlineFactory()
    record_update(acting_user=administrator, record=deadline, status=Deadline.Status.DONE)
    first = Deadline.objects.get(pk=deadline.pk)
    someone_else = UserFactory(first_name="Someone", last_name="Else")

    record_update(
        acting_user=someone_else, record=deadline, status=Deadline.Status.DONE, title="Renamed"
    )
    again = Deadline.objects.get(pk=deadline.pk)
    assert (again.title, again.status, again.completed_by_name, again.completed_at) == (
        "Renamed",
        "done",
        administrator.full_name,
        first.completed_at,
    )
    assert again.updated_at > first.updated_at


def _updates(queries) -> list[tuple[str, set[str]]]:
    """Each UPDATE as its table and the columns it sets."""
    return [
        (
            q["sql"].split('"')[1],
            set(re.findall(r'"(\w+)" = ', q["sql"].split(" WHERE ")[0])),
        )
        for q in queries
        if q["sql"].startswith("UPDATE")
    ]


def test_an_update_that_moves_nothing_writes_only_its_own_fields(administrator):
    """A case's caption or a matter's title changes nothing under or above it: the
    case's client is not rewritten, nor the matter's cases and deadlines."""
    case = CaseFactory()
    DeadlineFactory(matter=case.matter, case=case)
    matter = case.matter

    with CaptureQueriesContext(connection) as queries:
        record_update(acting_user=administrator, record=case, caption="C v D")
    assert _updates(queries) == [(Case._meta.db_table, {"caption", "updated_at"})]

    with CaptureQueriesContext(connection) as queries:
        record_update(acting_user=administrator, record=matter, title="Renamed")
    assert _updates(queries) == [(Matter._meta.db_table, {"title", "updated_at"})]


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (
            lambda user: record_update(acting_user=user, record=user, number="X"),
            "User is not a client, matter, case or deadline",
        ),
        (
            lambda user: record_owner_change(acting_user=user, record=user, new_owner=user),
            "User has no owner to change",
        ),
    ],
    ids=["record_update", "record_owner_change"],
)
def test_a_record_service_given_another_model_says_so(administrator, service, message):
    with pytest.raises(TypeError) as refused:
        service(administrator)
    assert str(refused.value) == message


def test_an_owner_change_that_nothing_records_is_refused_and_undone(administrator, monkeypatch):
    client = ClientFactory()
    new_owner = OwnerFactory()
    monkeypatch.setattr(owner_changed, "receivers", [])
    owner_changed.sender_receivers_cache.clear()
    before = snapshot()

    with pytest.raises(ImproperlyConfigured) as refused:
        record_owner_change(acting_user=administrator, record=client, new_owner=new_owner)
    assert str(refused.value) == UNRECORDED_OWNER_CHANGE
    assert snapshot() == before
