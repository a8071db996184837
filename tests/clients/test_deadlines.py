"""Deadlines, the fourth owned record type: the model's rules, the services that
create, change, complete and give them, the access rule, the Deadlines grid
(filters by owner, kind, status and due window, from the URL), the deadline's
page, and the matter and case pages that list them."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients.access import records_for_user, user_can_access_record
from clients.models import Deadline, DeadlineUserObjectPermission
from clients.record_types import SHARE_MODELS, record_type_of
from clients.services import (
    deadline_create,
    deadline_status_set,
    record_owner_change,
    record_update,
)
from tests.conftest import record_permission
from tests.factories import (
    CaseFactory,
    ClientFactory,
    DeadlineFactory,
    MatterFactory,
    OwnerFactory,
    UserFactory,
)
from transfers.models import Transfer, TransferredRecord

pytestmark = pytest.mark.django_db


def days(offset: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=offset)


@pytest.fixture
def matter(attorney):
    """A matter of Dana Reyes (an attorney)."""
    return MatterFactory(client=ClientFactory(owner=attorney), owner=attorney)


# --- The model ------------------------------------------------------------------


def test_a_deadlines_client_follows_its_matter(matter):
    other_client = ClientFactory(owner=matter.owner)
    deadline = DeadlineFactory(matter=matter, case=None, client=other_client)

    assert deadline.client_id == matter.client_id
    deadline.full_clean()


def test_the_case_must_be_under_the_deadlines_matter(matter):
    elsewhere = CaseFactory()
    deadline = Deadline(
        matter=matter,
        case=elsewhere,
        client=matter.client,
        title="Serve the defence",
        due_date=days(3),
        owner=matter.owner,
    )
    with pytest.raises(ValidationError) as refused:
        deadline.full_clean()
    assert [error.code for error in refused.value.error_dict["case"]] == ["case_not_under_matter"]


def test_a_client_other_than_the_matters_is_refused(matter):
    deadline = Deadline(
        matter=matter,
        client=ClientFactory(),
        title="Serve the defence",
        due_date=days(3),
        owner=matter.owner,
    )
    with pytest.raises(ValidationError) as refused:
        deadline.full_clean()
    assert [error.code for error in refused.value.error_dict["client"]] == ["client_mismatch"]


def test_the_database_refuses_a_done_deadline_without_a_completion_time(matter):
    deadline = DeadlineFactory(matter=matter, case=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deadline.objects.filter(pk=deadline.pk).update(status=Deadline.Status.DONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        Deadline.objects.filter(pk=deadline.pk).update(completed_at=timezone.now())


def test_the_owner_is_a_protected_foreign_key_checked_by_the_database(matter):
    deadline = DeadlineFactory(matter=matter, case=None)
    field = Deadline._meta.get_field("owner")
    assert field.db_constraint and field.remote_field.on_delete is models.PROTECT
    with pytest.raises(ProtectedError):
        deadline.owner.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Deadline.objects.filter(pk=deadline.pk).update(owner_id=10**9)
        if connection.vendor == "postgresql":
            connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
        else:
            connection.check_constraints(table_names=[Deadline._meta.db_table])


def test_the_registry_describes_deadlines():
    record_type = record_type_of(Deadline)
    assert record_type.name == "deadline"
    assert (record_type.plural, record_type.label_field, record_type.client_field) == (
        "deadlines",
        "title",
        "client",
    )
    assert SHARE_MODELS[Deadline][0] is DeadlineUserObjectPermission
    assert reverse(record_type.url_name, args=[7]) == "/deadlines/7/"


# --- The services ------------------------------------------------------------------


def test_deadline_create_refuses_an_inactive_or_ineligible_owner_and_creates_nothing(
    matter, administrator
):
    former = OwnerFactory(is_active=False)
    for owner, code in ((former, "owner_inactive"), (UserFactory(), "owner_ineligible")):
        with pytest.raises(ValidationError) as refused:
            deadline_create(
                acting_user=administrator,
                owner=owner,
                matter=matter,
                title="Hearing",
                due_date=days(2),
            )
        assert [e.code for e in refused.value.error_dict["owner"]] == [code]
    assert not Deadline.objects.exists()


def test_deadline_create_refuses_a_case_of_another_matter(matter, administrator):
    with pytest.raises(ValidationError) as refused:
        deadline_create(
            acting_user=administrator,
            owner=matter.owner,
            matter=matter,
            case=CaseFactory(),
            title="Hearing",
            due_date=days(2),
        )
    assert [e.code for e in refused.value.error_dict["case"]] == ["case_not_under_matter"]
    assert not Deadline.objects.exists()


def test_deadline_create_under_a_case(matter, administrator):
    case = CaseFactory(matter=matter, owner=matter.owner)
    deadline = deadline_create(
        acting_user=administrator,
        owner=matter.owner,
        matter=matter,
        case=case,
        title="Case management hearing",
        due_date=days(4),
        due_time=datetime.time(9, 30),
        kind=Deadline.Kind.HEARING,
    )
    stored = Deadline.objects.get(pk=deadline.pk)
    assert (stored.client_id, stored.case_id, stored.status) == (matter.client_id, case.pk, "open")
    assert stored.due_time == datetime.time(9, 30)
    assert (stored.completed_by, stored.completed_by_name, stored.completed_at) == (None, "", None)


def test_marking_done_records_who_and_when_and_reopening_forgets_it(matter, administrator):
    deadline = DeadlineFactory(matter=matter, case=None)
    before = timezone.now()

    deadline_status_set(acting_user=administrator, deadline=deadline, status="done")
    done = Deadline.objects.get(pk=deadline.pk)
    assert done.status == "done"
    assert (done.completed_by, done.completed_by_name) == (administrator, "Olivia Grant")
    assert done.completed_at >= before

    # Done again: the first completion is kept.
    other = UserFactory(first_name="Someone", last_name="Else")
    deadline_status_set(acting_user=other, deadline=deadline, status="done")
    assert Deadline.objects.get(pk=deadline.pk).completed_by_name == "Olivia Grant"

    deadline_status_set(acting_user=other, deadline=deadline, status="open")
    reopened = Deadline.objects.get(pk=deadline.pk)
    assert (reopened.status, reopened.completed_by, reopened.completed_at) == ("open", None, None)
    assert reopened.completed_by_name == ""


def test_the_completion_snapshot_outlives_the_user(matter):
    completer = UserFactory(first_name="Gone", last_name="Away")
    deadline = DeadlineFactory(matter=matter, case=None)
    deadline_status_set(acting_user=completer, deadline=deadline, status="done")
    completer.delete()
    stored = Deadline.objects.get(pk=deadline.pk)
    assert (stored.completed_by, stored.completed_by_name) == (None, "Gone Away")


def test_record_update_refuses_a_bad_status_and_hand_written_completion(matter, administrator):
    deadline = DeadlineFactory(matter=matter, case=None)
    with pytest.raises(ValidationError):
        record_update(acting_user=administrator, record=deadline, status="finished")
    with pytest.raises(ValueError, match="status"):
        record_update(acting_user=administrator, record=deadline, completed_by=administrator)
    stored = Deadline.objects.get(pk=deadline.pk)
    assert (stored.status, stored.completed_by) == ("open", None)


def test_a_deadline_moved_to_another_matter_follows_its_client(matter, administrator):
    deadline = DeadlineFactory(matter=matter, case=None)
    elsewhere = MatterFactory(owner=matter.owner)
    record_update(acting_user=administrator, record=deadline, matter=elsewhere)
    assert Deadline.objects.get(pk=deadline.pk).client_id == elsewhere.client_id


def test_a_matter_moved_to_another_client_takes_its_deadlines(matter, administrator):
    deadline = DeadlineFactory(matter=matter, case=None)
    other_client = ClientFactory(owner=matter.owner)
    record_update(acting_user=administrator, record=matter, client=other_client)
    assert Deadline.objects.get(pk=deadline.pk).client_id == other_client.pk


def test_an_owner_change_is_recorded_and_shown_on_the_deadlines_page(
    matter, administrator, signed_in
):
    deadline = DeadlineFactory(matter=matter, case=None)
    nina = OwnerFactory(first_name="Nina", last_name="New")
    with pytest.raises(ValidationError):
        record_owner_change(
            acting_user=administrator, record=deadline, new_owner=OwnerFactory(is_active=False)
        )

    record_owner_change(acting_user=administrator, record=deadline, new_owner=nina)

    assert Deadline.objects.get(pk=deadline.pk).owner == nina
    row = TransferredRecord.objects.get(record_type="deadline", record_id=deadline.pk)
    assert (row.from_user, row.to_user) == (matter.owner, nina)
    transfer = Transfer.objects.get(pk=row.transfer_id)
    assert (transfer.mode, transfer.deadline_count, transfer.record_count) == ("owner_change", 1, 1)
    html = signed_in(administrator).get(deadline.get_absolute_url()).content.decode()
    history = html.split("Ownership history", 1)[1]
    assert "Nina New" in history and matter.owner.full_name in history


# --- Access ------------------------------------------------------------------------


def test_owner_manager_and_share_holders_see_a_deadline_others_do_not(
    matter, manager, paralegal, attorney
):
    deadline = DeadlineFactory(matter=matter, case=None, owner=attorney)
    stranger = OwnerFactory()
    assert user_can_access_record(attorney, deadline, "change")
    assert user_can_access_record(manager, deadline)
    assert not user_can_access_record(manager, deadline, "change")
    assert not user_can_access_record(stranger, deadline)
    assert not user_can_access_record(paralegal, deadline)
    assert attorney.has_perm("clients.change_deadline", deadline)
    assert not stranger.has_perm("clients.view_deadline", deadline)

    DeadlineUserObjectPermission.objects.create(
        content_object=deadline, user=paralegal, permission=record_permission(Deadline, "view")
    )
    assert user_can_access_record(paralegal, deadline)
    assert list(records_for_user(paralegal, Deadline)) == [deadline]
    assert not records_for_user(stranger, Deadline).exists()


def test_a_deadline_page_is_404_without_access(signed_in, matter, attorney):
    deadline = DeadlineFactory(matter=matter, case=None, owner=attorney)
    assert signed_in(OwnerFactory()).get(deadline.get_absolute_url()).status_code == 404
    assert signed_in(attorney).get(deadline.get_absolute_url()).status_code == 200
    assert signed_in(attorney).get("/deadlines/999999/").status_code == 404


def test_the_groups_hold_the_deadline_permissions(administrator, manager, attorney):
    assert administrator.has_perm("clients.change_deadline")
    assert administrator.has_perm("clients.add_deadlineuserobjectpermission")
    assert manager.has_perm("clients.view_deadline")
    assert not manager.has_perm("clients.change_deadline")
    assert not attorney.has_perm("clients.view_deadline")


# --- The Deadlines grid -------------------------------------------------------------


@pytest.fixture
def calendar(attorney):
    """Dana's and Marcus's deadlines around today, of every kind; two done."""
    marcus = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    dana_matter = MatterFactory(client=ClientFactory(owner=attorney), owner=attorney)
    marcus_matter = MatterFactory(client=ClientFactory(owner=marcus), owner=marcus)
    rows = {}
    for title, offset, kind, owner, status in (
        ("Done last week", -6, "task", attorney, "done"),
        ("Overdue filing", -3, "filing", attorney, "open"),
        ("Hearing today", 0, "hearing", attorney, "open"),
        ("Defence in a week", 7, "court_deadline", marcus, "open"),
        ("Statement in 8 days", 8, "filing", attorney, "open"),
        ("Limitation in two weeks", 14, "limitation_date", marcus, "open"),
        ("Task in 15 days", 15, "task", attorney, "open"),
        ("Appeal in a month", 30, "court_deadline", marcus, "open"),
        ("Review in 31 days", 31, "task", attorney, "done"),
    ):
        matter = dana_matter if owner == attorney else marcus_matter
        rows[title] = DeadlineFactory(
            matter=matter,
            case=None,
            title=title,
            due_date=days(offset),
            kind=kind,
            owner=owner,
            status=status,
            completed_at=timezone.now() if status == "done" else None,
            completed_by_name="Olivia Grant" if status == "done" else "",
        )
    rows["dana"], rows["marcus"] = attorney, marcus
    return rows


def titles(response) -> list[str]:
    """The calendar's deadlines a page links to, in the order shown."""
    html = response.content.decode()
    return [
        title
        for _, title in sorted(
            (html.index(f">{t}</a>"), t) for t in DEADLINE_TITLES if f">{t}</a>" in html
        )
    ]


DEADLINE_TITLES = (
    "Done last week",
    "Overdue filing",
    "Hearing today",
    "Defence in a week",
    "Statement in 8 days",
    "Limitation in two weeks",
    "Task in 15 days",
    "Appeal in a month",
    "Review in 31 days",
)


def _shown(browser, query: str = "") -> list[str]:
    response = browser.get(reverse("clients:deadline_list") + query)
    assert response.status_code == 200
    return titles(response)


def test_the_grid_lists_deadlines_by_due_date(signed_in, manager, calendar):
    assert _shown(signed_in(manager)) == list(DEADLINE_TITLES)
    assert _shown(signed_in(manager), "?sort=-due_date") == list(reversed(DEADLINE_TITLES))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?due=overdue", ["Overdue filing"]),
        ("?due=7", ["Hearing today", "Defence in a week"]),
        (
            "?due=14",
            [
                "Hearing today",
                "Defence in a week",
                "Statement in 8 days",
                "Limitation in two weeks",
            ],
        ),
        (
            "?due=30",
            [
                "Hearing today",
                "Defence in a week",
                "Statement in 8 days",
                "Limitation in two weeks",
                "Task in 15 days",
                "Appeal in a month",
            ],
        ),
        ("?status=done", ["Done last week", "Review in 31 days"]),
        ("?kind=filing", ["Overdue filing", "Statement in 8 days"]),
        ("?kind=court_deadline&due=7", ["Defence in a week"]),
        ("?q=limitation", ["Limitation in two weeks"]),
    ],
)
def test_grid_filters_from_the_url(signed_in, manager, calendar, query, expected):
    assert _shown(signed_in(manager), query) == expected


def test_owner_filter_and_caption(signed_in, manager, calendar):
    browser = signed_in(manager)
    marcus = calendar["marcus"]
    assert _shown(browser, f"?owner={marcus.pk}") == [
        "Defence in a week",
        "Limitation in two weeks",
        "Appeal in a month",
    ]
    html = browser.get(f"/deadlines/?owner={marcus.pk}&due=14").content.decode()
    assert "<caption>Deadlines owned by Marcus Hale, due in the next 14 days</caption>" in html
    html = browser.get("/deadlines/?due=overdue").content.decode()
    assert "<caption>Deadlines, overdue</caption>" in html


def test_an_overdue_deadline_is_marked_in_the_grid(signed_in, manager, calendar):
    html = signed_in(manager).get("/deadlines/?due=overdue").content.decode()
    assert '<span class="badge badge-overdue">Overdue</span>' in html
    html = signed_in(manager).get("/deadlines/?status=done").content.decode()
    assert "badge-overdue" not in html  # a done deadline is never overdue


@pytest.mark.parametrize("query", ["?due=12", "?due=%27", "?kind=meeting", "?status=late"])
def test_unknown_filter_values_are_ignored_with_a_message(signed_in, manager, calendar, query):
    response = signed_in(manager).get("/deadlines/" + query)
    assert response.status_code == 200
    assert "Showing all." in response.content.decode()
    assert _shown(signed_in(manager), query) == list(DEADLINE_TITLES)


def test_an_attorney_sees_only_their_deadlines(signed_in, calendar):
    shown = _shown(signed_in(calendar["dana"]))
    assert shown == [
        "Done last week",
        "Overdue filing",
        "Hearing today",
        "Statement in 8 days",
        "Task in 15 days",
        "Review in 31 days",
    ]


def test_the_grid_filter_form_and_header_link(signed_in, manager, calendar):
    html = signed_in(manager).get("/deadlines/").content.decode()
    assert "<h1>Deadlines</h1>" in html
    for field_id, label in [
        ("id_q", "Search"),
        ("id_owner", "Owner"),
        ("id_kind", "Kind"),
        ("id_status", "Status"),
        ("id_due", "Due"),
    ]:
        assert f'<label for="{field_id}">{label}</label>' in html
    assert '<a href="/deadlines/" aria-current="page">Deadlines</a>' in html
    home = signed_in(manager).get(reverse("home")).content.decode()
    assert '<a href="/deadlines/">Deadlines</a>' in home


@pytest.mark.parametrize(
    "query", ["", "?due=7&sort=title", "?owner={owner}&kind=task", "?q=in&status=open"]
)
@pytest.mark.parametrize("who", ["manager", "owner"])
def test_grid_query_count_does_not_grow_with_deadlines(
    signed_in, manager, query, who, django_assert_max_num_queries
):
    owner = OwnerFactory()
    counts = []
    for size in (5, 120):
        matter = MatterFactory(client=ClientFactory(owner=owner), owner=owner)
        for index in range(size):
            DeadlineFactory(
                matter=matter,
                case=CaseFactory(matter=matter, owner=owner) if index % 2 else None,
                owner=owner,
                title=f"Deadline {index} in the matter",
                due_date=days(index % 20 - 2),  # every size has rows in every window
                kind=Deadline.Kind.values[index % 5],
            )
        browser = signed_in(manager if who == "manager" else owner)
        url = "/deadlines/" + query.format(owner=owner.pk)
        browser.get(url)
        with django_assert_max_num_queries(12), CaptureQueriesContext(connection) as queries:
            assert browser.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Record pages -------------------------------------------------------------------


def test_the_deadline_page_shows_its_facts_and_completion(signed_in, manager, calendar):
    done = calendar["Done last week"]
    html = signed_in(manager).get(done.get_absolute_url()).content.decode()
    assert "<h1>Done last week</h1>" in html
    assert "Done: completed by Olivia Grant on" in html
    assert "badge-overdue" not in html
    overdue = calendar["Overdue filing"]
    html = signed_in(manager).get(overdue.get_absolute_url()).content.decode()
    assert '<span class="badge badge-overdue">Overdue</span>' in html
    assert f'href="{overdue.matter.get_absolute_url()}"' in html
    assert "Ownership history" in html


def test_matter_and_case_pages_list_their_deadlines(signed_in, manager, matter):
    case = CaseFactory(matter=matter, owner=matter.owner)
    on_case = DeadlineFactory(matter=matter, case=case, title="On the case", due_date=days(1))
    on_matter = DeadlineFactory(matter=matter, case=None, title="On the matter", due_date=days(-2))
    browser = signed_in(manager)

    html = browser.get(matter.get_absolute_url()).content.decode()
    section = html.split('id="deadlines-heading"', 1)[1]
    assert section.index("On the matter") < section.index("On the case")
    assert f'href="/deadlines/?matter={matter.pk}"' in section
    assert '<span class="badge badge-overdue">Overdue</span>' in section

    html = browser.get(case.get_absolute_url()).content.decode()
    section = html.split('id="deadlines-heading"', 1)[1]
    assert on_case.title in section and on_matter.title not in section
    assert f'href="/deadlines/?case={case.pk}"' in section
    assert _shown_titles(browser, f"?case={case.pk}") == ["On the case"]


def _shown_titles(browser, query):
    html = browser.get("/deadlines/" + query).content.decode()
    return [t for t in ("On the case", "On the matter") if f">{t}</a>" in html]


@pytest.mark.parametrize("client_id_limit", [0, 1, 1000])
def test_search_by_client_name_finds_the_same_inlined_or_as_a_subquery(
    signed_in, manager, attorney, monkeypatch, client_id_limit
):
    """A term matching more clients than the limit is a subquery instead of a list of ids."""
    monkeypatch.setattr("clients.filters.CLIENT_ID_LIMIT", client_id_limit)
    for name, title in (("Zephyr Foods", "Lease review"), ("Zephyr Energy", "Hearing")):
        matter = MatterFactory(client=ClientFactory(name=name, owner=attorney), owner=attorney)
        DeadlineFactory(matter=matter, case=None, title=title)
    DeadlineFactory(title="Zephyr in the title")
    DeadlineFactory(title="Nothing to do with it")
    html = signed_in(manager).get("/deadlines/?q=zephyr").content.decode()
    shown = {t for t in ("Lease review", "Hearing", "Zephyr in the title") if f">{t}</a>" in html}
    assert shown == {"Lease review", "Hearing", "Zephyr in the title"}
    assert "Nothing to do with it" not in html
    assert "Showing 1–3 of 3 deadlines." in html


def test_marking_done_in_the_admin_records_who_and_when(client, administrator, matter):
    deadline = DeadlineFactory(matter=matter, case=None, title="File the reply")
    client.force_login(administrator)
    url = reverse("admin:clients_deadline_change", args=[deadline.pk])
    form = {
        "matter": matter.pk,
        "case": "",
        "title": "File the reply",
        "due_date": deadline.due_date.isoformat(),
        "due_time": "",
        "kind": deadline.kind,
        "status": "done",
        "owner": deadline.owner_id,
        "owner_seen": deadline.owner_id,
    }
    assert client.post(url, form).status_code == 302
    done = Deadline.objects.get(pk=deadline.pk)
    assert (done.status, done.completed_by, done.completed_by_name) == (
        "done",
        administrator,
        "Olivia Grant",
    )
    assert done.completed_at is not None
    html = client.get(url).content.decode()
    assert "Olivia Grant" in html  # the snapshot, shown read-only
