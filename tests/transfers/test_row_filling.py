"""Distribute fills only the rows nobody is assigned to, unless asked to replace
them, and each button says how many rows it filled, kept or replaced (the
no-JavaScript path: plain posts)."""

import re

import pytest

from clients.models import Case
from tests.factories import CaseFactory, DeadlineFactory, MatterFactory, OwnerFactory
from tests.transfers.test_per_client_scale import form_of, post, url
from transfers.models import Transfer
from transfers.web.fields import user_reference
from transfers.web.presenters.row_filling import FillCount, assign_status, distribute_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(leaver_firm):
    ada = OwnerFactory(username="ada", first_name="Ada", last_name="Abel")
    ben = OwnerFactory(username="ben", first_name="Ben", last_name="Bell")
    cy = OwnerFactory(username="cy", first_name="Cy", last_name="Cole")
    matter = MatterFactory(owner=ada)
    CaseFactory.create_batch(10, matter=matter, client=matter.client, owner=ada)
    return ada, ben, cy


def values(response) -> dict[int, str]:
    return {row["client"].pk: row["value"] for row in response.context["rows"]}


def test_distribute_keeps_the_rows_assigned_by_hand(admin_http, leaver_firm, three):
    data = form_of(admin_http.get(url(leaver_firm.leaver)))
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(leaver_firm.marcus)]
    response = post(
        admin_http,
        leaver_firm.leaver,
        data,
        action="distribute",
        distribute_to=[str(u.pk) for u in three],
    )
    filled = values(response)
    assert filled[leaver_firm.acme.pk] == user_reference(leaver_firm.marcus)
    assert filled[leaver_firm.bolt.pk] in {user_reference(u) for u in three}
    assert filled[leaver_firm.crane.pk] in {user_reference(u) for u in three}
    assert response.context["fill_status"] == (
        "Distribute filled 2 empty rows and kept 1 already assigned (tick “Replace "
        "assignments already made” to distribute those too)."
    )
    assert "Distribute filled 2 empty rows" in response.content.decode()
    # Marcus is not among the chosen: the totals leave his row out.
    totals = {entry["name"]: entry["load"] for entry in response.context["distribution"]}
    assert sum(load.received_links for load in totals.values()) == 2
    assert not Transfer.objects.exists()


def test_distribute_replaces_them_when_asked(admin_http, leaver_firm, three):
    data = form_of(admin_http.get(url(leaver_firm.leaver)))
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(leaver_firm.marcus)]
    response = post(
        admin_http,
        leaver_firm.leaver,
        data,
        action="distribute",
        distribute_to=[str(u.pk) for u in three],
        distribute_replace="on",
    )
    assert set(values(response).values()) <= {user_reference(u) for u in three}
    assert response.context["fill_status"] == (
        "Distribute filled 3 rows, replacing 1 assignment already made."
    )
    assert 'name="distribute_replace" id="id_distribute_replace"' in response.content.decode()


def test_a_row_kept_for_a_chosen_user_counts_in_their_totals(admin_http, leaver_firm, three):
    ada, ben, cy = three
    data = form_of(admin_http.get(url(leaver_firm.leaver)))
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(ben)]  # Acme: 2 cases
    response = post(
        admin_http,
        leaver_firm.leaver,
        data,
        action="distribute",
        distribute_to=[str(ben.pk), str(cy.pk)],
    )
    totals = {entry["name"]: entry["load"] for entry in response.context["distribution"]}
    assert totals["Ben Bell"].received_links + totals["Cy Cole"].received_links == 3
    # Balanced with Acme's two cases already Ben's: Crane's case goes to Cy.
    assert values(response)[leaver_firm.crane.pk] == user_reference(cy)
    html = response.content.decode()
    assert "(all owned by Sam)" in html or "of them owned by Sam" in html


def test_assign_all_says_how_many_rows_it_replaced(admin_http, leaver_firm):
    data = form_of(admin_http.get(url(leaver_firm.leaver)))
    data[f"client-{leaver_firm.acme.pk}"] = [user_reference(leaver_firm.marcus)]
    response = post(
        admin_http,
        leaver_firm.leaver,
        data,
        action="assign_all",
        assign_all_to=user_reference(leaver_firm.dana),
    )
    assert set(values(response).values()) == {user_reference(leaver_firm.dana)}
    message = "3 clients assigned to Dana Reyes, replacing 1 assignment already made."
    assert response.context["fill_status"] == message
    assert f'aria-live="polite">{message}</p>' in response.content.decode()


def test_the_receives_column_counts_clients_and_says_how_many_the_old_user_owned(
    admin_http, leaver_firm, three
):
    ada, ben, cy = three
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(admin_http.get(url(leaver_firm.leaver))),
        action="distribute",
        distribute_to=[str(ben.pk)],
    )
    # Ben receives Acme and Bolt (Sam's) and Crane (Marcus's, with Sam's matter).
    assert "<td>3 clients (2 of them owned by Sam), 3 cases</td>" in response.content.decode()


def test_the_totals_count_every_record_type_deadlines_included(admin_http, leaver_firm, three):
    ada, ben, cy = three
    acme_case = Case.objects.get(number="K-00001")
    DeadlineFactory.create_batch(2, case=acme_case, owner=leaver_firm.leaver)
    DeadlineFactory(case=CaseFactory(owner=ada), owner=ben)  # Ben's own, before Save
    response = post(
        admin_http,
        leaver_firm.leaver,
        form_of(admin_http.get(url(leaver_firm.leaver))),
        action="distribute",
        distribute_to=[str(ben.pk)],
    )
    html = response.content.decode()
    totals = html[html.index("Proposal: each chosen user") : html.index("</table>")]
    totals = re.sub(r">\s+<", "><", totals)
    headers = "".join(
        f'<th scope="col" class="number">{noun}</th>'
        for noun in ("Clients", "Matters", "Cases", "Deadlines")
    )
    assert f'<th scope="col">Receives</th>{headers}</tr>' in totals
    # Ben receives Acme and Bolt (Sam's), Crane (Marcus's, with Sam's matter and
    # case), and Sam's two deadlines under Acme, beside the one he has.
    cells = "".join(
        f'<td class="number" data-label="{noun}">{change}</td>'
        for noun, change in (
            ("Clients", "0 → 2"),
            ("Matters", "0 → 3"),
            ("Cases", "0 → 3"),
            ("Deadlines", "1 → 3"),
        )
    )
    assert cells in totals
    [entry] = response.context["distribution"]
    assert entry["load"].counts["deadline"] == 3


def test_status_words():
    assert distribute_status(FillCount(filled=1, replaced=0, kept=0), replace=False) == (
        "Distribute filled 1 empty row."
    )
    assert distribute_status(FillCount(filled=5, replaced=0, kept=0), replace=True) == (
        "Distribute filled 5 rows."
    )
    assert assign_status(FillCount(filled=1000, replaced=0, kept=0), user_name="Nina Park") == (
        "1,000 clients assigned to Nina Park."
    )
