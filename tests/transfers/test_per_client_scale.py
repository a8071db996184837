"""User Transfer at firm scale: Save of thousands of rows (the per-view field
limit and the bound past it), the shared list of users, the filter, the
selection, Distribute and the preview, without JavaScript (plain posts)."""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.urls import reverse

from clients.models import Case, Client, Matter
from tests.factories import CaseFactory, MatterFactory, OwnerFactory, UserFactory
from tests.helpers import counts_of, permission, snapshot
from transfers.models import Transfer
from transfers.web.fields import user_reference
from transfers.web.forms import PER_CLIENT_MAX_CLIENTS, PER_CLIENT_MAX_FIELDS
from users import groups
from users.models import User

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"


def url(user):
    return reverse("transfers:transfer_per_client", args=[user.pk])


def form_of(page) -> dict[str, list[str]]:
    """The fields a browser posts from a GET of `page` (hidden fields, rows as shown)."""
    data = {
        "client_ids": [page.context["shown_client_ids"]],
        "request_key": [page.context["request_key"]],
        "distribute_mode": ["workload"],
    }
    for row in page.context["rows"]:
        data[f"client-{row['client'].pk}"] = [row["value"]]
    return data


def post(http, user, data, **fields):
    """Post `data` (plus `fields`) urlencoded, as a browser's form does."""
    body = dict(data)
    for name, value in fields.items():
        body[name] = value if isinstance(value, list) else [value]
    return http.post(url(user), urlencode(body, doseq=True), content_type=FORM)


def codes(response, field=None):
    return [e.code for e in response.context["form"].errors.as_data().get(field or "__all__", [])]


def bulk_clients(owner, count, prefix="B"):
    return Client.objects.bulk_create(
        [
            Client(number=f"C-{prefix}{i:05d}", name=f"Bulk client {prefix}{i:05d}", owner=owner)
            for i in range(count)
        ],
        batch_size=1000,
    )


# --- Save at 5,000 clients and the bound ------------------------------------


def test_save_of_5000_assignments_posted_as_a_browser_posts_them(admin_http, leaver_firm):
    """5,000 rows and 5,000 ticked checkboxes: more than Django's site-wide
    limit of 1,000 fields, accepted for this view only."""
    bulk_clients(leaver_firm.leaver, PER_CLIENT_MAX_CLIENTS - 3)
    page = admin_http.get(url(leaver_firm.leaver))
    rows = page.context["rows"]
    assert len(rows) == PER_CLIENT_MAX_CLIENTS
    data = form_of(page)
    targets = [leaver_firm.dana, leaver_firm.marcus]
    for i, row in enumerate(rows):
        data[f"client-{row['client'].pk}"] = [user_reference(targets[i % 2])]
    data["selected"] = [str(row["client"].pk) for row in rows]
    assert sum(len(v) for v in data.values()) > 10_000
    response = post(admin_http, leaver_firm.leaver, data, action="save")
    assert response.status_code == 302, response.content[:500]
    transfer = Transfer.objects.get()
    assert transfer.mode == Transfer.Mode.PER_CLIENT
    ids = [row["client"].pk for row in rows]
    owners = dict(Client.objects.filter(pk__in=ids).values_list("pk", "owner_id"))
    expected = {
        row["client"].pk: targets[i % 2].pk
        for i, row in enumerate(rows)
        if row["client"].pk != leaver_firm.crane.pk
    }
    assert {pk: owners[pk] for pk in expected} == expected
    assert owners[leaver_firm.crane.pk] == leaver_firm.marcus.pk  # not the leaver's: never moved
    assert not Matter.objects.filter(owner=leaver_firm.leaver).exists()
    assert not Case.objects.filter(owner=leaver_firm.leaver).exists()
    assert transfer.record_counts["client"] == PER_CLIENT_MAX_CLIENTS - 1


def test_the_field_limit_is_raised_for_user_transfer_only(admin_http, leaver_firm):
    before = snapshot()
    many = urlencode([("filler", "x")] * 1_500 + [("new_user", leaver_firm.dana.pk)])
    response = admin_http.post(
        reverse("transfers:transfer_all", args=[leaver_firm.leaver.pk]), many, content_type=FORM
    )
    assert response.status_code == 400  # Django's own limit, unchanged elsewhere
    assert snapshot() == before


CSRF_SECRET = "s" * 32  # a valid secret: the cookie, and the token posted with it


def csrf_checked(user=None) -> HttpClient:
    """A client whose posts meet the CSRF check, as a browser's do (the test
    client skips it otherwise): the check reads request.POST."""
    http = HttpClient(enforce_csrf_checks=True)
    http.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    if user is not None:
        http.force_login(user)
    return http


def with_token(fields: list[tuple]) -> str:
    return urlencode([("csrfmiddlewaretoken", CSRF_SECRET), *fields])


def many_fields(leaver_firm) -> str:
    """1,500 fields: over Django's 1,000, well under User Transfer's bound."""
    return with_token(
        [("selected", "x")] * 1_500
        + [(f"client-{leaver_firm.crane.pk}", leaver_firm.dana.pk), ("action", "save")]
    )


def test_the_raised_field_limit_lets_a_transfer_user_post_past_1000_fields(
    administrator, leaver_firm
):
    http = csrf_checked(administrator)
    response = http.post(url(leaver_firm.leaver), many_fields(leaver_firm), content_type=FORM)
    assert response.status_code == 200  # the form's own answer: Save needs the rows listed
    assert "User Transfer" in response.content.decode()


def test_an_anonymous_post_keeps_the_site_wide_field_limit(leaver_firm):
    """Read with Django's 1,000 by the CSRF check, before the sign-in redirect:
    a large anonymous post costs no more than one to any other page."""
    before = snapshot()
    response = csrf_checked().post(
        url(leaver_firm.leaver), many_fields(leaver_firm), content_type=FORM
    )
    assert response.status_code == 400
    assert "User Transfer" not in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("permissions", [(), ("view_user",)])
def test_a_post_by_a_user_without_the_transfer_permission_keeps_the_site_wide_limit(
    leaver_firm, permissions
):
    clerk = UserFactory(username="clerk")
    clerk.user_permissions.add(*(permission(name, app_label="users") for name in permissions))
    before = snapshot()
    http = csrf_checked(clerk)
    response = http.post(url(leaver_firm.leaver), many_fields(leaver_firm), content_type=FORM)
    assert response.status_code == 400
    assert "User Transfer" not in response.content.decode()
    assert snapshot() == before
    # Within the site-wide limit, the same post meets the view's own refusal.
    small = with_token([("action", "save"), (f"client-{leaver_firm.crane.pk}", "1")])
    assert http.post(url(leaver_firm.leaver), small, content_type=FORM).status_code == 403


def test_a_post_over_the_field_bound_is_refused_with_a_pointer_to_the_command(
    admin_http, leaver_firm
):
    before = snapshot()
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data["selected"] = [str(i) for i in range(PER_CLIENT_MAX_FIELDS)]
    response = post(admin_http, leaver_firm.leaver, data, action="save")
    assert response.status_code == 400
    html = response.content.decode()
    assert f"more than {PER_CLIENT_MAX_FIELDS} fields" in html
    assert "Nothing was changed." in html
    assert "manage.py transfer_user" in html and "--plan plan.csv" in html
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_more_assignments_than_the_bound_are_refused(admin_http, leaver_firm):
    before = snapshot()
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    for client_id in range(1, PER_CLIENT_MAX_CLIENTS + 2):
        data[f"client-{10_000_000 + client_id}"] = [str(leaver_firm.dana.pk)]
    response = post(admin_http, leaver_firm.leaver, data, action="save")
    assert response.status_code == 200
    assert codes(response) == ["too_many_clients"]
    html = response.content.decode()
    assert "up to 5,000 clients in one Save" in html
    assert "manage.py transfer_user" in html and "--plan plan.csv" in html
    assert snapshot() == before
    assert not Transfer.objects.exists()


def test_a_book_over_the_bound_points_to_the_command_line(admin_http, leaver_firm):
    bulk_clients(leaver_firm.leaver, PER_CLIENT_MAX_CLIENTS)
    page = admin_http.get(url(leaver_firm.leaver))
    html = page.content.decode()
    assert page.context["too_many_clients"] is True
    assert page.context["rows"] == []
    assert "is linked to more than 5000 clients" in html
    assert f"manage.py transfer_user {leaver_firm.leaver.username} --plan plan.csv" in html
    assert 'name="client-' not in html and ">Save</button>" not in html
    # A forged Save of the shown ids is refused as well, nothing moved.
    before = snapshot()
    ids = ",".join(
        str(pk)
        for pk in Client.objects.filter(owner=leaver_firm.leaver).values_list("pk", flat=True)
    )
    response = post(
        admin_http,
        leaver_firm.leaver,
        {"client_ids": [ids]},
        **{"request_key": page.context["request_key"], "action": "save"},
    )
    assert codes(response, "client_ids") == ["too_many_clients"]
    assert snapshot() == before


def test_csrf_is_still_checked_on_the_raised_limit_path(administrator, leaver_firm):
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(administrator)
    before = snapshot()
    body = urlencode({"action": "save", f"client-{leaver_firm.acme.pk}": leaver_firm.dana.pk})
    response = http.post(url(leaver_firm.leaver), body, content_type=FORM)
    assert response.status_code == 403
    assert snapshot() == before


# --- The page: one shared list of users -------------------------------------


def test_rows_share_one_list_of_users_and_keep_their_labels(admin_http, leaver_firm):
    page = admin_http.get(url(leaver_firm.leaver))
    html = page.content.decode()
    assert html.count("<datalist") == 1
    assert f'<option value="{user_reference(leaver_firm.dana)}">' in html
    assert f'<option value="{user_reference(leaver_firm.leaver)}">' not in html  # never receives
    for client in (leaver_firm.acme, leaver_firm.bolt, leaver_firm.crane):
        assert f'<label class="visually-hidden" for="id_client-{client.pk}">New user for ' in html
        assert f'<input name="client-{client.pk}" id="id_client-{client.pk}" list=' in html
    assert '<label for="id_assign_all_to">Assign all to</label>' in html
    assert '<label for="id_assign_selected_to">Assign selected to</label>' in html
    assert "<legend>Distribute among</legend>" in html
    assert "Balance by workload" in html and "Round robin" in html
    assert "style=" not in html and "<script>" not in html


def test_rows_accept_the_listed_text_a_username_or_an_id(admin_http, leaver_firm):
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(leaver_firm.dana)]
    data[f"client-{leaver_firm.bolt.pk}"] = ["marcus.hale"]
    data[f"client-{leaver_firm.crane.pk}"] = [str(leaver_firm.dana.pk)]
    assert post(admin_http, leaver_firm.leaver, data, action="save").status_code == 302
    assert Client.objects.get(pk=leaver_firm.acme.pk).owner == leaver_firm.dana
    assert Client.objects.get(pk=leaver_firm.bolt.pk).owner == leaver_firm.marcus
    assert Matter.objects.get(number="M-00003").owner == leaver_firm.dana


def test_an_unknown_user_text_is_shown_on_its_row(admin_http, leaver_firm):
    before = snapshot()
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data[f"client-{leaver_firm.acme.pk}"] = ["Nobody Here (no.such.user)"]
    response = post(admin_http, leaver_firm.leaver, data, action="save")
    assert codes(response) == ["invalid_assignment"]
    acme = next(row for row in response.context["rows"] if row["client"] == leaver_firm.acme)
    assert acme["error"] == "Choose a user from the list."
    assert acme["value"] == "Nobody Here (no.such.user)"
    assert snapshot() == before


# --- Filter, selection, Assign selected (no JavaScript) -----------------------


def test_filter_hides_other_rows_and_keeps_every_assignment(admin_http, leaver_firm):
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data[f"client-{leaver_firm.bolt.pk}"] = [user_reference(leaver_firm.marcus)]
    response = post(admin_http, leaver_firm.leaver, data, action="filter", q="c-00001")
    shown = {row["client"].pk: row["shown"] for row in response.context["rows"]}
    assert shown == {
        leaver_firm.acme.pk: True,
        leaver_firm.bolt.pk: False,
        leaver_firm.crane.pk: False,
    }
    html = response.content.decode()
    assert "Showing 1 of 3 clients." in html
    bolt = next(row for row in response.context["rows"] if row["client"] == leaver_firm.bolt)
    assert bolt["value"] == user_reference(leaver_firm.marcus)
    # Hidden rows are still in the form, so Save posts them.
    assert f'value="{user_reference(leaver_firm.marcus)}"' in html
    assert not Transfer.objects.exists()


def test_assign_selected_fills_the_ticked_rows_only(admin_http, leaver_firm):
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data[f"client-{leaver_firm.crane.pk}"] = [user_reference(leaver_firm.dana)]
    response = post(
        admin_http,
        leaver_firm.leaver,
        data,
        action="assign_selected",
        selected=[str(leaver_firm.acme.pk), str(leaver_firm.bolt.pk)],
        assign_selected_to=user_reference(leaver_firm.marcus),
    )
    values = {row["client"].pk: row["value"] for row in response.context["rows"]}
    assert values == {
        leaver_firm.acme.pk: user_reference(leaver_firm.marcus),
        leaver_firm.bolt.pk: user_reference(leaver_firm.marcus),
        leaver_firm.crane.pk: user_reference(leaver_firm.dana),
    }
    assert all(row["selected"] for row in response.context["rows"][:2])
    assert not Transfer.objects.exists()


def test_select_all_shown_assigns_the_filtered_rows(admin_http, leaver_firm):
    page = admin_http.get(url(leaver_firm.leaver))
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(page),
        action="assign_selected",
        q="co",  # "Crane Co", and "Bolt & Sons"? no: only names or numbers with "co"
        select_shown="on",
        assign_selected_to=user_reference(leaver_firm.dana),
    )
    values = {row["client"].pk: row["value"] for row in response.context["rows"]}
    assert values == {
        leaver_firm.acme.pk: "",
        leaver_firm.bolt.pk: "",
        leaver_firm.crane.pk: user_reference(leaver_firm.dana),
    }


def test_assign_selected_needs_a_user_and_a_selection(admin_http, leaver_firm):
    page = admin_http.get(url(leaver_firm.leaver))
    response = post(admin_http, leaver_firm.leaver, form_of(page), action="assign_selected")
    assert codes(response, "assign_selected_to") == ["assign_selected_required"]
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(page),
        action="assign_selected",
        assign_selected_to=user_reference(leaver_firm.dana),
    )
    assert codes(response, "assign_selected_to") == ["nothing_selected"]
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(page),
        action="assign_all",
        assign_all_to="Who Is This",
    )
    assert codes(response, "assign_all_to") == ["invalid_assignment"]


# --- Distribute (no JavaScript) ------------------------------------------------


@pytest.fixture
def three(leaver_firm):
    """Three colleagues with different workloads: Ada owns 10 cases, Ben 0, Cy 3."""
    ada = OwnerFactory(username="ada", first_name="Ada", last_name="Abel")
    ben = OwnerFactory(username="ben", first_name="Ben", last_name="Bell")
    cy = OwnerFactory(username="cy", first_name="Cy", last_name="Cole")
    matter = MatterFactory(owner=ada)
    CaseFactory.create_batch(10, matter=matter, client=matter.client, owner=ada)
    matter = MatterFactory(owner=cy)
    CaseFactory.create_batch(3, matter=matter, client=matter.client, owner=cy)
    return ada, ben, cy


def test_distribute_fills_every_row_and_shows_the_totals(admin_http, leaver_firm, three):
    ada, ben, cy = three
    page = admin_http.get(url(leaver_firm.leaver))
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(page),
        action="distribute",
        distribute_to=[str(u.pk) for u in three],
    )
    assert response.status_code == 200
    assert not Transfer.objects.exists()
    values = {row["client"].pk: row["value"] for row in response.context["rows"]}
    # Largest first: Acme (2 cases) to Ben (0), then Crane (1 case) to Ben
    # (2) or... Ben has 2 after Acme, Cy 3, Ada 10: Crane goes to Ben (3 after);
    # Bolt (0 cases, the client) to Ben (3 cases, 2 clients)? Cy has 3 cases
    # and 1 client: fewer clients wins the tie.
    assert values == {
        leaver_firm.acme.pk: user_reference(ben),
        leaver_firm.crane.pk: user_reference(ben),
        leaver_firm.bolt.pk: user_reference(cy),
    }
    totals = {entry["name"]: entry["load"] for entry in response.context["distribution"]}
    assert list(totals) == ["Ada Abel", "Ben Bell", "Cy Cole"]
    assert (totals["Ben Bell"].cases, totals["Cy Cole"].cases, totals["Ada Abel"].cases) == (
        3,
        3,
        10,
    )
    html = response.content.decode()
    assert "Proposal: each chosen user's totals after Save" in html
    for user in three:
        assert f'value="{user.pk}" id="id_distribute_to_{user.pk}" checked' in html
    # The filled form saves as it is.
    data = form_of(response)
    response = post(admin_http, leaver_firm.leaver, data, action="save")
    assert response.status_code == 302
    assert Client.objects.get(pk=leaver_firm.acme.pk).owner == ben
    assert Client.objects.get(pk=leaver_firm.bolt.pk).owner == cy
    assert Matter.objects.get(number="M-00003").owner == ben


def test_distribute_round_robin_deals_in_row_order(admin_http, leaver_firm, three):
    ada, ben, cy = three
    page = admin_http.get(url(leaver_firm.leaver))
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(page),
        action="distribute",
        distribute_mode="round_robin",
        distribute_to=[str(cy.pk), str(ada.pk)],  # dealt in the list's order
    )
    values = [row["value"] for row in response.context["rows"]]
    assert values == [user_reference(ada), user_reference(cy), user_reference(ada)]
    assert 'value="round_robin" checked' in response.content.decode()


def test_distribute_refuses_no_users_and_users_who_may_not_receive(admin_http, leaver_firm, three):
    page = admin_http.get(url(leaver_firm.leaver))
    response = post(admin_http, leaver_firm.leaver, form_of(page), action="distribute")
    assert codes(response) == ["distribute_to_required"]
    staff = User.objects.create_user("no.owner", first_name="Nora", last_name="Owner")
    Group.objects.get(name=groups.MANAGERS).user_set.add(staff)
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(page),
        action="distribute",
        distribute_to=[str(three[0].pk), str(staff.pk), str(leaver_firm.leaver.pk)],
    )
    assert codes(response) == ["distribute_to_invalid"]
    assert "Nora Owner and Sam Leaver may not" in response.content.decode()
    assert all(row["value"] == "" for row in response.context["rows"])


# --- Preview -------------------------------------------------------------------


def test_preview_shows_what_save_would_move_and_moves_nothing(admin_http, leaver_firm):
    before = snapshot()
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(leaver_firm.dana)]
    data[f"client-{leaver_firm.bolt.pk}"] = [user_reference(leaver_firm.marcus)]
    data[f"client-{leaver_firm.crane.pk}"] = [user_reference(leaver_firm.dana)]
    response = post(admin_http, leaver_firm.leaver, data, action="preview")
    assert response.status_code == 200
    preview = response.context["preview"]
    counts = {r.to_user_name: counts_of(r) for r in preview.recipients}
    assert counts == {"Dana Reyes": (1, 2, 3, 1), "Marcus Hale": (1, 1, 0, 0)}
    html = response.content.decode()
    assert "Preview: what Save would move" in html
    assert "Nothing has moved yet" in html
    assert snapshot() == before
    assert not Transfer.objects.exists()
    # Save then moves exactly what the preview said.
    transfer_response = post(admin_http, leaver_firm.leaver, data, action="save")
    assert transfer_response.status_code == 302
    saved = {r.to_user_name: counts_of(r) for r in Transfer.objects.get().recipients.all()}
    assert saved == counts


def test_preview_shows_the_engine_refusal(admin_http, leaver_firm):
    before = snapshot()
    page = admin_http.get(url(leaver_firm.leaver))
    data = form_of(page)
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(leaver_firm.dana)]
    response = post(admin_http, leaver_firm.leaver, data, action="preview")
    assert codes(response) == ["client_unassigned"]
    assert response.context["preview"] is None
    assert response.context["refused_clients"] == ["Bolt & Sons (C-00002)", "Crane Co (C-00003)"]
    assert snapshot() == before
