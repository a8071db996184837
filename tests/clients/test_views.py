"""Clients, Matters and Cases grids and record pages: search, filters, sort,
pagination, visibility, bad input, ownership history and query budgets."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clients import access, selectors
from clients.models import (
    Case,
    CaseGroupObjectPermission,
    Client,
    ClientUserObjectPermission,
    Matter,
    MatterUserObjectPermission,
)
from clients.views import RecordGridView
from tests.clients.conftest import row_numbers
from tests.factories import (
    CaseFactory,
    CaseShareFactory,
    ClientFactory,
    ClientShareFactory,
    MatterFactory,
    MatterShareFactory,
    OwnerFactory,
    UserFactory,
)
from tests.helpers import permission, record_permission
from transfers.models import Transfer, TransferRecipient, TransferredRecord
from users import groups

pytestmark = pytest.mark.django_db

GRIDS = [
    ("clients:client_list", "Clients"),
    ("clients:matter_list", "Matters"),
    ("clients:case_list", "Cases"),
]


# --- Page structure -------------------------------------------------------


@pytest.mark.parametrize(("url_name", "title"), GRIDS)
def test_grid_has_heading_labelled_search_and_filters_and_a_table(
    signed_in, manager, attorney_firm, url_name, title
):
    response = signed_in(manager).get(reverse(url_name))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in html
    for field_id, label in [
        ("id_q", "Search"),
        ("id_owner", "Owner"),
        ("id_status", "Status"),
        ("id_per_page", "Rows per page"),
    ]:
        assert f'<label for="{field_id}">{label}</label>' in html
        assert f'id="{field_id}"' in html
    assert 'type="search"' in html
    assert "<table" in html and f"<caption>{title}</caption>" in html
    assert "style=" not in html.split('<main id="main"', 1)[1]
    assert "<script" not in html.split('<main id="main"', 1)[1]


def test_owner_select_lists_users_and_marks_inactive_ones(signed_in, manager, attorney_firm):
    html = signed_in(manager).get(reverse("clients:case_list")).content.decode()
    assert f'<option value="{attorney_firm.dana.pk}">Dana Reyes</option>' in html
    assert f'<option value="{attorney_firm.former.pk}">Frank Former (inactive)</option>' in html


# --- Search, filters, sort --------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "query", "expected"),
    [
        ("clients:client_list", "C-00002", ["C-00002"]),
        ("clients:client_list", "hoffmann", ["C-00001"]),
        ("clients:client_list", "Hoffmann Foods", ["C-00001"]),
        ("clients:matter_list", "M-000001", ["M-000001"]),
        ("clients:matter_list", "debt", ["M-000002"]),
        ("clients:matter_list", "Brandt Logistics", ["M-000002"]),  # the client's name
        ("clients:case_list", "K-0000002", ["K-0000002"]),
        ("clients:case_list", "adler", ["K-0000001"]),
        ("clients:case_list", "Hoffmann Foods", ["K-0000001"]),  # the client's name
        ("clients:case_list", "nothing like this", []),
    ],
)
def test_search(signed_in, manager, attorney_firm, read_path, url_name, query, expected):
    response = signed_in(manager).get(reverse(url_name), {"q": query})
    assert row_numbers(response) == expected


@pytest.mark.parametrize(
    ("url_name", "owner", "expected", "caption"),
    [
        ("clients:client_list", "dana", ["C-00001"], "Clients owned by Dana Reyes"),
        ("clients:matter_list", "marcus", ["M-000002"], "Matters owned by Marcus Hale"),
        ("clients:case_list", "dana", ["K-0000001"], "Cases owned by Dana Reyes"),
        ("clients:case_list", "former", [], "Cases owned by Frank Former"),
    ],
)
def test_owner_filter_from_the_url_names_the_owner(
    signed_in, manager, attorney_firm, url_name, owner, expected, caption
):
    owner = getattr(attorney_firm, owner)
    response = signed_in(manager).get(reverse(url_name) + f"?owner={owner.pk}")
    html = response.content.decode()
    assert row_numbers(response) == expected
    assert f"<caption>{caption}</caption>" in html
    assert f"<title>{caption} · CaseEngine</title>" in html
    assert f'<option value="{owner.pk}" selected>' in html


@pytest.mark.parametrize(
    ("url_name", "status", "expected"),
    [
        ("clients:client_list", "former", ["C-00002"]),
        ("clients:client_list", "active", ["C-00001"]),
        ("clients:matter_list", "closed", ["M-000002"]),
        ("clients:case_list", "open", ["K-0000001"]),
    ],
)
def test_status_filter(signed_in, manager, attorney_firm, url_name, status, expected):
    response = signed_in(manager).get(reverse(url_name), {"status": status})
    assert row_numbers(response) == expected


def test_filters_combine(signed_in, manager, attorney_firm):
    url = reverse("clients:case_list")
    response = signed_in(manager).get(url, {"owner": attorney_firm.marcus.pk, "status": "open"})
    assert row_numbers(response) == []
    response = signed_in(manager).get(url, {"owner": attorney_firm.marcus.pk, "q": "Brandt"})
    assert row_numbers(response) == ["K-0000002"]


def test_client_and_matter_filters_scope_the_grid(signed_in, manager, attorney_firm):
    browser = signed_in(manager)
    response = browser.get(reverse("clients:case_list"), {"client": attorney_firm.brandt.pk})
    assert row_numbers(response) == ["K-0000002"]
    assert "<caption>Cases of Brandt Logistics (C-00002)</caption>" in response.content.decode()
    response = browser.get(
        reverse("clients:case_list"), {"matter": attorney_firm.hoffmann_matter.pk}
    )
    assert row_numbers(response) == ["K-0000001"]
    response = browser.get(reverse("clients:matter_list"), {"client": attorney_firm.hoffmann.pk})
    assert row_numbers(response) == ["M-000001"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("number", ["C-00001", "C-00002"]),
        ("-number", ["C-00002", "C-00001"]),
        ("name", ["C-00002", "C-00001"]),  # Brandt before Hoffmann
        ("-name", ["C-00001", "C-00002"]),
        ("status", ["C-00001", "C-00002"]),  # active before former
        ("owner", ["C-00001", "C-00002"]),  # Dana before Marcus
        ("-owner", ["C-00002", "C-00001"]),
        ("kind", ["C-00001", "C-00002"]),
        ("no_such_column", ["C-00001", "C-00002"]),
        ("owner__password", ["C-00001", "C-00002"]),
    ],
)
def test_sort_by_any_column(signed_in, manager, attorney_firm, read_path, sort, expected):
    response = signed_in(manager).get(reverse("clients:client_list"), {"sort": sort})
    assert response.status_code == 200
    assert row_numbers(response) == expected


def test_sort_links_keep_filters_and_mark_the_sorted_column(signed_in, manager, attorney_firm):
    html = (
        signed_in(manager)
        .get(
            reverse("clients:case_list"),
            {"owner": attorney_firm.dana.pk, "sort": "-caption", "page": 1},
        )
        .content.decode()
    )
    assert 'aria-sort="descending"' in html
    assert f'href="?owner={attorney_firm.dana.pk}&amp;sort=caption"' in html  # page dropped
    assert '<input type="hidden" name="sort" value="-caption">' in html


@pytest.mark.parametrize("url_name", ["clients:matter_list", "clients:case_list"])
def test_sort_by_client_name(signed_in, manager, attorney_firm, url_name):
    response = signed_in(manager).get(reverse(url_name), {"sort": "client"})
    assert [n[-1] for n in row_numbers(response)] == ["2", "1"]  # Brandt, then Hoffmann


# --- Pagination and counting ------------------------------------------------


@pytest.fixture
def thirty_clients(attorney):
    return ClientFactory.create_batch(30, owner=attorney)


@pytest.fixture(params=["by_ids", "by_query"])
def read_path(request, monkeypatch):
    """Run a test both ways a grid reads its rows: small results by primary key,
    larger ones through the filtered query with a capped count."""
    if request.param == "by_query":
        monkeypatch.setattr(RecordGridView, "small_result", 0)
    return request.param


@pytest.mark.parametrize(
    ("params", "first_row", "rows"),
    [
        ({}, 0, 25),
        ({"page": "2"}, 25, 5),
        ({"page": "999999"}, 25, 5),  # past the end: the last page
        ({"page": "99999999999999999999999999"}, 25, 5),
        ({"page": "0"}, 0, 25),
        ({"page": "-3"}, 0, 25),
        ({"page": "abc"}, 0, 25),
        ({"page": "1.5"}, 0, 25),
        ({"per_page": "50"}, 0, 30),
        ({"per_page": "100", "page": "2"}, 0, 30),
        ({"per_page": "1000000"}, 0, 25),  # not a choice: the default
        ({"per_page": "-1"}, 0, 25),
        ({"per_page": "ten"}, 0, 25),
    ],
)
def test_pagination(signed_in, manager, thirty_clients, read_path, params, first_row, rows):
    response = signed_in(manager).get(reverse("clients:client_list"), params)
    numbers = row_numbers(response)
    expected = sorted(c.number for c in thirty_clients)
    assert response.status_code == 200
    assert numbers == expected[first_row : first_row + rows]


@pytest.mark.parametrize("sort", ["number", "-owner", "client", "-status"])
def test_a_deep_page_reads_the_ids_then_the_rows_in_the_grids_order(
    signed_in, manager, read_path, sort, monkeypatch
):
    """A page that skips many rows reads its ids (OFFSET, no joins), then those rows
    with their owner and client: the same rows as one query gives."""
    monkeypatch.setattr("clients.tables.IDS_FIRST_OFFSET", 25)  # 1,000 rows in use
    people = [OwnerFactory(first_name=name) for name in ("Cy", "Ana", "Bo")]
    for i in range(30):
        MatterFactory(owner=people[i % 3], status=("open", "closed")[i % 2])
    browser = signed_in(manager)
    everything = row_numbers(browser.get("/matters/", {"sort": sort, "per_page": "100"}))
    assert len(everything) == 30
    with CaptureQueriesContext(connection) as queries:
        second = browser.get("/matters/", {"sort": sort, "page": "2"})
    assert row_numbers(second) == everything[25:]
    matter_queries = [q["sql"] for q in queries.captured_queries if "clients_matter" in q["sql"]]
    if read_path == "by_query":  # (by ids, the rows are read by their ids anyway)
        [ids] = [sql for sql in matter_queries if "OFFSET 25" in sql]
        assert ids.startswith('SELECT "clients_matter"."id"')
        assert "clients_client" not in ids or sort == "client"  # joined only to sort
        [rows] = [sql for sql in matter_queries if '"clients_matter"."id" IN (' in sql]
        assert '"clients_client"."name"' in rows and "OFFSET" not in rows


@pytest.mark.parametrize(("cap", "sorted_in_full"), [(10_000, True), (10, False)])
def test_a_page_of_every_match_counted_is_sorted_not_walked(
    signed_in, manager, thirty_clients, monkeypatch, cap, sorted_in_full
):
    """When every match is counted (up to the cap), PostgreSQL plans the page without
    plain index scans: it sorts those matches instead of walking the order's index."""
    monkeypatch.setattr(RecordGridView, "count_cap", cap)
    monkeypatch.setattr(RecordGridView, "small_result", 5)
    with CaptureQueriesContext(connection) as queries:
        response = signed_in(manager).get(reverse("clients:client_list"), {"sort": "name"})
    assert (
        row_numbers(response)
        == [c.number for c in sorted(thirty_clients, key=lambda c: (c.name, c.number))][
            : min(cap, 25)
        ]
    )
    statements = [q["sql"] for q in queries.captured_queries]
    hinted = "SET LOCAL enable_indexscan = off" in statements
    assert hinted == (sorted_in_full and connection.vendor == "postgresql")
    if hinted:  # inside the test's transaction: set back after the page
        start = statements.index("SET LOCAL enable_indexscan = off")
        end = statements.index("SET LOCAL enable_indexscan TO DEFAULT")
        [page] = statements[start + 1 : end]
        assert page.startswith('SELECT "clients_client"."id", ') and "LIMIT 25" in page


def test_pagination_links_keep_filters(signed_in, manager, thirty_clients, attorney):
    html = (
        signed_in(manager)
        .get(reverse("clients:client_list"), {"owner": attorney.pk, "sort": "-number"})
        .content.decode()
    )
    assert "Showing 1–25 of 30 clients." in html
    one = signed_in(manager).get(reverse("clients:client_list"), {"q": thirty_clients[0].number})
    assert "Showing 1–1 of 1 client." in one.content.decode()
    assert f'href="?owner={attorney.pk}&amp;sort=-number&amp;page=2"' in html
    assert '<span aria-current="page">1</span>' in html


def test_counts_stop_at_the_cap(signed_in, manager, thirty_clients, monkeypatch):
    monkeypatch.setattr(RecordGridView, "count_cap", 10)
    monkeypatch.setattr(RecordGridView, "small_result", 5)
    browser = signed_in(manager)
    response = browser.get(reverse("clients:client_list"), {"page": "999"})
    html = response.content.decode()
    assert "of 10+ clients." in html and "Search or filter to narrow the list." in html
    # Ten rows are reachable: page 1 of 25 rows holds them all; the cap bounds the OFFSET.
    assert len(row_numbers(response)) == 10


def test_join_sort_over_the_cap_falls_back_to_number(
    signed_in, manager, thirty_clients, monkeypatch
):
    monkeypatch.setattr(RecordGridView, "count_cap", 10)
    monkeypatch.setattr(RecordGridView, "small_result", 5)
    response = signed_in(manager).get(reverse("clients:client_list"), {"sort": "-owner"})
    html = response.content.decode()
    assert "Sorting by owner works on up to 10 clients" in html
    assert row_numbers(response) == sorted(c.number for c in thirty_clients)[:10]
    assert 'aria-sort="descending"' not in html  # the page says it is not sorted by owner
    # Filtered below the cap, the same sort applies.
    response = signed_in(manager).get(
        reverse("clients:client_list"), {"sort": "-owner", "q": thirty_clients[0].number}
    )
    assert "Sorting by owner" not in response.content.decode()


@pytest.fixture
def thirty_cases(attorney):
    """Thirty cases under one matter, captions and courts in the reverse order of
    numbers; the first eight captions say Alpha, the others Beta."""
    matter = MatterFactory(owner=attorney, client=ClientFactory(owner=attorney))
    return [
        CaseFactory(
            matter=matter,
            owner=attorney,
            number=f"K-{i:07d}",
            caption=f"{'Alpha' if i < 8 else 'Beta'} {30 - i:02d}",
            court=f"Court {30 - i:02d}",
            status=Case.Status.CLOSED if i % 2 else Case.Status.OPEN,
        )
        for i in range(30)
    ]


@pytest.mark.parametrize(
    ("sort", "column"), [("caption", "caption"), ("-court", "court"), ("status", "status")]
)
def test_unindexed_case_sort_over_the_cap_falls_back_to_number(
    signed_in, manager, thirty_cases, monkeypatch, sort, column
):
    """Cases carry no sort index (each would cost every transfer; docs/indexes.md):
    above the cap the grid shows them by number and says why, as for owner and client."""
    monkeypatch.setattr(RecordGridView, "count_cap", 10)
    monkeypatch.setattr(RecordGridView, "small_result", 5)
    response = signed_in(manager).get(reverse("clients:case_list"), {"sort": sort})
    html = response.content.decode()
    assert f"Sorting by {column} works on up to 10 cases" in html
    assert row_numbers(response) == [c.number for c in thirty_cases][:10]
    # Narrowed below the cap by a search, the sort applies.
    response = signed_in(manager).get(reverse("clients:case_list"), {"sort": sort, "q": "Alpha"})
    html = response.content.decode()
    assert "Sorting by" not in html
    matching = [c for c in thirty_cases if c.caption.startswith("Alpha")]
    key = {"caption": lambda c: (c.caption, c.number), "court": lambda c: (c.court, c.number)}
    key["status"] = lambda c: (c.status, c.number)
    # Descending applies to every sort key, the number included.
    expected = sorted(matching, key=key[column], reverse=sort.startswith("-"))
    assert row_numbers(response) == [c.number for c in expected]


def test_unindexed_matter_sort_over_the_cap_falls_back_to_number(
    signed_in, manager, attorney, monkeypatch
):
    client = ClientFactory(owner=attorney)
    matters = [
        MatterFactory(client=client, owner=attorney, number=f"M-{i:06d}", title=f"T {30 - i:02d}")
        for i in range(30)
    ]
    monkeypatch.setattr(RecordGridView, "count_cap", 10)
    monkeypatch.setattr(RecordGridView, "small_result", 5)
    response = signed_in(manager).get(reverse("clients:matter_list"), {"sort": "title"})
    assert "Sorting by title works on up to 10 matters" in response.content.decode()
    assert row_numbers(response) == [m.number for m in matters][:10]
    response = signed_in(manager).get(reverse("clients:matter_list"), {"sort": "practice_area"})
    assert "Sorting by practice area works on up to 10 matters" in response.content.decode()


def test_indexed_client_sorts_apply_over_the_cap(signed_in, manager, thirty_clients, monkeypatch):
    """Clients keep their sort indexes: name, kind and status sort at any size."""
    monkeypatch.setattr(RecordGridView, "count_cap", 10)
    monkeypatch.setattr(RecordGridView, "small_result", 5)
    for sort in ("name", "-kind", "status"):
        response = signed_in(manager).get(reverse("clients:client_list"), {"sort": sort})
        html = response.content.decode()
        assert "Sorting by" not in html
        field = sort.lstrip("-")
        expected = sorted(
            thirty_clients,
            key=lambda c: (getattr(c, field), c.number),
            reverse=sort.startswith("-"),
        )
        assert row_numbers(response) == [c.number for c in expected][:10]


# --- Bad input ----------------------------------------------------------------

BAD_QUERIES = [
    {"owner": "abc"},
    {"owner": "-1"},
    {"owner": "0"},
    {"owner": "999999999"},
    {"owner": "99999999999999999999999999999"},
    {"owner": "1 OR 1=1"},
    {"status": "bogus"},
    {"status": "'; DROP TABLE clients_client; --"},
    {"client": "abc"},
    {"client": "99999999999999999999999999999"},
    {"client": "-5"},
    {"matter": "1e309"},
    {"q": "' OR '1'='1"},
    {"q": "%"},
    {"q": "_"},
    {"q": "\\"},
    {"q": "x" * 5000},
    {"q": "Robert'); DROP TABLE clients_case;--"},
    {"q": "\u0000"},
    {"sort": "-"},
    {"sort": "--number"},
    {"sort": "number,owner,-name"},
    {"sort": "owner__password"},
    {"sort": "id); DROP TABLE x; --"},
    {"page": "-1"},
    {"page": "9" * 400},
    {"page": "1e10"},
    {"per_page": "0"},
    {"per_page": "9" * 50},
    {"owner": "", "status": "", "q": "", "page": "", "per_page": "", "sort": ""},
]


@pytest.mark.parametrize(("url_name", "title"), GRIDS)
@pytest.mark.parametrize("params", BAD_QUERIES, ids=lambda p: repr(p)[:40])
def test_bad_input_gives_a_normal_page(signed_in, manager, attorney_firm, url_name, title, params):
    response = signed_in(manager).get(reverse(url_name), params)
    assert response.status_code == 200
    assert f"<h1>{title}</h1>" in response.content.decode()


def test_injection_in_search_finds_nothing_and_changes_nothing(signed_in, manager, attorney_firm):
    response = signed_in(manager).get(reverse("clients:client_list"), {"q": "' OR '1'='1"})
    assert row_numbers(response) == []
    assert Client.objects.count() == 2


def test_unknown_owner_is_ignored_with_a_message(signed_in, manager, attorney_firm):
    response = signed_in(manager).get(reverse("clients:client_list"), {"owner": "999999"})
    html = response.content.decode()
    assert row_numbers(response) == ["C-00001", "C-00002"]
    assert "Select a valid choice" in html and "Showing all." in html
    assert 'aria-describedby="id_owner_error"' in html and 'id="id_owner_error"' in html


# --- Visibility ---------------------------------------------------------------


@pytest.mark.parametrize("url_name", [name for name, _ in GRIDS])
def test_grids_show_only_what_the_user_may_see(
    signed_in, attorney_firm, manager, outsider, url_name, paralegal
):
    # The paralegal holds a share on Brandt's records (user share on the client and
    # matter, group share on the case through the Paralegals group).
    ClientShareFactory(
        content_object=attorney_firm.brandt, user=paralegal, permission=permission("view_client")
    )
    MatterUserObjectPermission.objects.create(
        content_object=attorney_firm.brandt_matter,
        user=paralegal,
        permission=permission("view_matter"),
    )
    CaseGroupObjectPermission.objects.create(
        content_object=attorney_firm.brandt_case,
        group=Group.objects.get(name=groups.PARALEGALS),
        permission=permission("view_case"),
    )
    expected = {
        "manager": 2,
        "dana": ["1"],  # owner: her own only
        "marcus": ["2"],
        "paralegal": ["2"],  # shares only
        "outsider": [],
    }
    # The outsider is a paralegal too, so the group share on the case reaches them.
    users = {
        "manager": manager,
        "dana": attorney_firm.dana,
        "marcus": attorney_firm.marcus,
        "paralegal": paralegal,
        "outsider": outsider,
    }
    for name, user in users.items():
        numbers = row_numbers(signed_in(user).get(reverse(url_name)))
        if name == "manager":
            assert len(numbers) == 2
        elif name == "outsider":
            assert numbers == (["K-0000002"] if url_name == "clients:case_list" else [])
        else:
            assert [n[-1] for n in numbers] == expected[name], name


def test_anonymous_users_are_sent_to_sign_in(client, attorney_firm):
    response = client.get(reverse("clients:case_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("model", [Client, Matter, Case], ids=lambda m: m.__name__)
@pytest.mark.parametrize("share_id_limit", [1000, 0])
def test_visible_records_is_the_access_rule(model, share_id_limit, monkeypatch, paralegal):
    """The grids return exactly the records the rule grants one by one, with
    the shared ids inlined or (past the limit) with the EXISTS form."""
    monkeypatch.setattr(access, "SHARE_ID_LIMIT", share_id_limit)
    cases = CaseFactory.create_batch(4)
    records = {Client: [c.client for c in cases], Matter: [c.matter for c in cases], Case: cases}
    mine, user_shared, group_shared, hidden = records[model]
    mine.owner = paralegal
    mine.save()
    share_user, share_group = {
        Client: (ClientUserObjectPermission, None),
        Matter: (MatterUserObjectPermission, None),
        Case: (None, CaseGroupObjectPermission),
    }[model]
    codename = f"view_{model._meta.model_name}"
    from clients.record_types import SHARE_MODELS

    user_model, group_model = SHARE_MODELS[model]
    user_model.objects.create(
        content_object=user_shared, user=paralegal, permission=permission(codename)
    )
    group_model.objects.create(
        content_object=group_shared,
        group=Group.objects.get(name=groups.PARALEGALS),
        permission=permission(codename),
    )
    # A change-only share does not make a record visible.
    user_model.objects.create(
        content_object=hidden,
        user=paralegal,
        permission=record_permission(model, "change"),
    )
    visible = set(
        selectors.visible_records(user=paralegal, model=model).values_list("pk", flat=True)
    )
    one_by_one = {r.pk for r in records[model] if access.user_can_access_record(paralegal, r)}
    assert visible == one_by_one == {mine.pk, user_shared.pk, group_shared.pk}


# --- Record pages ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["client", "matter", "case"])
def test_record_page_is_404_without_access_and_for_unknown_records(
    signed_in, attorney_firm, outsider, kind
):
    record = {
        "client": attorney_firm.hoffmann,
        "matter": attorney_firm.hoffmann_matter,
        "case": attorney_firm.hoffmann_case,
    }[kind]
    url = reverse(f"clients:{kind}_detail", kwargs={"pk": record.pk})
    assert signed_in(attorney_firm.marcus).get(url).status_code == 404
    assert signed_in(outsider).get(url).status_code == 404
    assert signed_in(attorney_firm.dana).get(url).status_code == 200
    for pk in (987654321, 0, 2**63, 10**30):  # unknown, and past the database's integers
        missing = reverse(f"clients:{kind}_detail", kwargs={"pk": pk})
        assert signed_in(attorney_firm.dana).get(missing).status_code == 404


def test_record_page_is_visible_through_a_share(signed_in, attorney_firm, paralegal):
    CaseShareFactory(content_object=attorney_firm.brandt_case, user=paralegal)
    url = reverse("clients:case_detail", kwargs={"pk": attorney_firm.brandt_case.pk})
    assert signed_in(paralegal).get(url).status_code == 200


def test_client_page_shows_fields_owner_shares_matters_and_cases(
    signed_in, manager, attorney_firm, paralegal
):
    ClientShareFactory(
        content_object=attorney_firm.hoffmann,
        user=paralegal,
        permission=permission("change_client"),
    )
    attorney_firm.hoffmann.email = "office@hoffmann.example"
    attorney_firm.hoffmann.save()
    html = signed_in(manager).get(attorney_firm.hoffmann.get_absolute_url()).content.decode()
    assert "<h1>Hoffmann Foods" in html
    assert "office@hoffmann.example" in html
    assert "Dana Reyes" in html
    assert f"{reverse('clients:client_list')}?owner={attorney_firm.dana.pk}" in html
    assert "Lena Ortiz" in html and "Can change client" in html  # the share
    assert "M-000001" in html and "Lease renewal" in html
    assert "K-0000001" in html and "Hoffmann v. Adler" in html
    assert "Brandt" not in html  # nothing of the other client
    assert f"{reverse('clients:matter_list')}?client={attorney_firm.hoffmann.pk}" in html
    assert "Never transferred" in html


def test_client_page_caps_related_records_and_links_to_the_grid(
    signed_in, manager, attorney, monkeypatch
):
    monkeypatch.setattr(selectors, "RELATED_LIMIT", 3)
    client_record = ClientFactory(owner=attorney)
    for _ in range(4):
        MatterFactory(client=client_record)
    html = signed_in(manager).get(client_record.get_absolute_url()).content.decode()
    assert html.count("/matters/") >= 4
    assert "See all matters in the Matters grid" in html
    assert "(the first 3 are shown here)" in html


def test_client_page_lists_only_related_records_the_user_may_see(
    signed_in, attorney_firm, paralegal
):
    """A user who may see the client through a share sees only the matters and
    cases they may see themselves."""
    ClientShareFactory(content_object=attorney_firm.brandt, user=paralegal)
    html = signed_in(paralegal).get(attorney_firm.brandt.get_absolute_url()).content.decode()
    assert "No matters you can see." in html and "No cases you can see." in html


def test_matter_and_case_pages(signed_in, manager, attorney_firm):
    browser = signed_in(manager)
    html = browser.get(attorney_firm.brandt_matter.get_absolute_url()).content.decode()
    assert "Debt recovery" in html and "Brandt Logistics" in html and "K-0000002" in html
    assert f"{reverse('clients:case_list')}?matter={attorney_firm.brandt_matter.pk}" in html
    html = browser.get(attorney_firm.brandt_case.get_absolute_url()).content.decode()
    assert "Brandt v. Castillo" in html and "Debt recovery" in html and "Marcus Hale" in html
    assert attorney_firm.brandt.get_absolute_url() in html


def _transfer(*, actor, from_user, to_user, mode=Transfer.Mode.ALL, **records):
    transfer = Transfer.objects.create(
        mode=mode,
        actor=actor,
        actor_name=actor.full_name,
        from_user=from_user,
        from_user_name=from_user.full_name,
        created_at=timezone.now(),
    )
    TransferRecipient.objects.create(
        transfer=transfer, to_user=to_user, to_user_name=to_user.full_name
    )
    for record_type, record in records.items():
        TransferredRecord.objects.create(
            transfer=transfer,
            record_type=record_type,
            record_id=record.pk,
            from_user=from_user,
            to_user=to_user,
            permission=permission("view_case") if record_type.endswith("_share") else None,
        )
    return transfer


def test_ownership_history_from_the_receipts(signed_in, manager, attorney_firm, administrator):
    first = _transfer(
        actor=administrator,
        from_user=attorney_firm.dana,
        to_user=attorney_firm.marcus,
        case=attorney_firm.hoffmann_case,
    )
    back = _transfer(
        actor=administrator,
        from_user=attorney_firm.marcus,
        to_user=attorney_firm.dana,
        mode=Transfer.Mode.REVERT,
        case=attorney_firm.hoffmann_case,
        case_share=attorney_firm.hoffmann_case,
    )
    # A transfer of another record with the same id but another type is not this case's.
    _transfer(
        actor=administrator,
        from_user=attorney_firm.dana,
        to_user=attorney_firm.marcus,
        client=attorney_firm.brandt,
    )
    html = (
        signed_in(administrator)
        .get(attorney_firm.hoffmann_case.get_absolute_url())
        .content.decode()
    )
    date = timezone.localtime(first.created_at).strftime("%-d %b %Y")
    assert "Moved from Dana Reyes to Marcus Hale by Olivia Grant on <time datetime=" in html
    assert date in html
    receipt = reverse("transfers:transfer_detail", kwargs={"pk": first.pk})
    assert f'<a href="{receipt}">receipt #{first.pk}</a>' in html
    assert f"receipt #{back.pk}" in html and "(a revert)" in html
    assert "Share (Can view case) moved from Marcus Hale to Dana Reyes" in html
    assert html.index(f"receipt #{back.pk}") < html.index(f"receipt #{first.pk}")  # newest first
    assert html.count("<li>Moved") + html.count("<li>Share") == 3
    assert "Never transferred" not in html
    # Staff outside the settings area read the receipt number without a link.
    html = signed_in(manager).get(attorney_firm.hoffmann_case.get_absolute_url()).content.decode()
    assert f"receipt #{first.pk}" in html and receipt not in html


def test_ownership_history_survives_deleted_users(manager, attorney_firm, administrator):
    gone = OwnerFactory(first_name="Gina", last_name="Gone")
    transfer = _transfer(
        actor=administrator,
        from_user=gone,
        to_user=attorney_firm.dana,
        client=attorney_firm.hoffmann,
    )
    gone.delete()
    administrator.delete()
    [event] = selectors.record_ownership_history(record=attorney_firm.hoffmann)
    assert event.from_name == "Gina Gone"  # the receipt's snapshot
    assert event.actor_name == "Olivia Grant"
    assert event.to_name == "Dana Reyes"
    assert event.transfer_id == transfer.pk


def test_ownership_history_names_a_deleted_recipient_from_the_receipt(attorney_firm, administrator):
    """The receipt's recipient keeps a snapshot of the name; the record's
    history uses it once the user who received the record is deleted."""
    gone = OwnerFactory(first_name="Gina", last_name="Gone")
    _transfer(
        actor=administrator,
        from_user=attorney_firm.dana,
        to_user=gone,
        client=attorney_firm.hoffmann,
    )
    Client.objects.filter(pk=attorney_firm.hoffmann.pk).update(
        owner=attorney_firm.dana
    )  # moved on since
    gone.delete()
    [event] = selectors.record_ownership_history(record=attorney_firm.hoffmann)
    assert event.to_name == "Gina Gone (deleted since)"
    assert event.from_name == "Dana Reyes"


# --- Query budgets --------------------------------------------------------------


def _queries(browser, url):
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200
    return len(queries)


GRID_URLS = [
    "/clients/",
    "/clients/?sort=-owner&per_page=100",
    "/matters/?q=a&status=open&sort=client",
    "/cases/?owner={owner}&page=2",
    "/cases/?client={client}&matter={matter}&per_page=100",
]


@pytest.mark.parametrize("url", GRID_URLS)
@pytest.mark.parametrize("who", ["manager", "owner", "paralegal"])
def test_grid_query_budget_does_not_grow_with_records(
    signed_in, manager, paralegal, read_path, url, who, django_assert_max_num_queries
):
    owner = OwnerFactory()
    counts = []
    for size in (5, 200):
        client_record = ClientFactory(owner=owner)
        matter = MatterFactory(client=client_record, owner=owner)
        cases = CaseFactory.create_batch(size - 1, matter=matter, owner=owner)
        for case in cases[: size // 5]:
            CaseShareFactory(content_object=case, user=paralegal)
        MatterFactory.create_batch(size - 1, client=client_record, owner=owner)
        ClientFactory.create_batch(size - 1, owner=owner)
        user = {"manager": manager, "owner": owner, "paralegal": paralegal}[who]
        browser = signed_in(user)
        filled = url.format(owner=owner.pk, client=client_record.pk, matter=matter.pk)
        browser.get(filled)  # sessions, permission caches
        # 12, and the two statements that plan a fully counted page without index
        # walks inside the test's transaction (clients.tables.matches_sorted).
        with django_assert_max_num_queries(14):
            counts.append(_queries(browser, filled))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("kind", ["client", "matter", "case"])
def test_record_page_query_budget_does_not_grow(
    signed_in, manager, administrator, attorney, kind, django_assert_max_num_queries
):
    counts = []
    for size in (5, 200):
        client_record = ClientFactory(owner=attorney)
        matter = MatterFactory(client=client_record, owner=attorney)
        cases = CaseFactory.create_batch(size, matter=matter, owner=attorney)
        MatterFactory.create_batch(size, client=client_record, owner=attorney)
        record = {"client": client_record, "matter": matter, "case": cases[0]}[kind]
        for _ in range(min(size, 30)):
            _transfer(
                actor=administrator,
                from_user=attorney,
                to_user=attorney,
                **{kind: record, f"{kind}_share": record},
            )
        share_factory = {
            "client": ClientShareFactory,
            "matter": MatterShareFactory,
            "case": CaseShareFactory,
        }[kind]
        for _ in range(min(size, 20)):
            share_factory(content_object=record)
        browser = signed_in(manager)
        browser.get(record.get_absolute_url())
        with django_assert_max_num_queries(12):
            counts.append(_queries(browser, record.get_absolute_url()))
    assert counts[0] == counts[1]


def test_grid_never_counts_the_whole_table(signed_in, manager, attorney_firm, monkeypatch):
    """The grid reads at most cap + 1 ids to count, on either read path, and
    never runs COUNT(*) over the table."""

    def grid_sql():
        browser.get(reverse("clients:case_list"))
        with CaptureQueriesContext(connection) as queries:
            browser.get(reverse("clients:case_list"))
        return [q["sql"] for q in queries.captured_queries if "clients_case" in q["sql"]]

    browser = signed_in(manager)
    for small_result in (1000, 0):
        monkeypatch.setattr(RecordGridView, "small_result", small_result)
        sql = grid_sql()
        assert not [query for query in sql if "COUNT(" in query.upper()]
        assert len([query for query in sql if "LIMIT 10001" in query]) == 1


def test_header_link_reaches_the_grids(signed_in, attorney):
    html = signed_in(attorney).get(reverse("home")).content.decode()
    for url_name, _ in GRIDS:
        assert f'href="{reverse(url_name)}"' in html


def test_user_may_see_records_of_inactive_owner(signed_in, manager, attorney_firm):
    """A record left with a deactivated owner is still listed, marked inactive."""
    record = ClientFactory(owner=UserFactory(first_name="Ina", last_name="Active"))
    type(record.owner).objects.filter(pk=record.owner_id).update(is_active=False)
    html = signed_in(manager).get(reverse("clients:client_list")).content.decode()
    assert 'Ina Active <span class="badge badge-inactive">inactive</span>' in html
