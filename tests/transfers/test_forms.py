"""User Transfer's form on its own: the checks of the buttons that fill the
rows, with their codes, and what it loads for them."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import QueryDict

from tests.factories import OwnerFactory, UserFactory
from transfers.web.forms import TransferPerClientForm


def posted(**values) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            data.appendlist(name, str(item))
    return data


def not_loaded():
    raise AssertionError("loaded for a button that does not need it")


def rows(*pks):
    return lambda: [SimpleNamespace(pk=pk) for pk in pks]


OLD = SimpleNamespace(username="sam.leaver", full_name="Sam Leaver")


def test_save_loads_neither_the_listed_clients_nor_the_eligible_users():
    form = TransferPerClientForm(
        posted(client_ids="1,2", **{"client-1": 7, "client-2": 8}),
        old_user=OLD,
        listed_clients=not_loaded,
        eligible_users=not_loaded,
    )
    assert form.is_valid(), form.errors
    assert form.action == "save" and not form.fills_rows()
    assert form.transfer_arguments() == {
        "assignments": {1: 7, 2: 8},
        "deactivate_old_user": False,
        "expected_client_ids": [1, 2],
    }


def test_an_unknown_button_is_save():
    form = TransferPerClientForm(posted(action="launch"), old_user=OLD)
    assert form.action == "save"


@pytest.mark.parametrize(
    ("action", "field", "code"),
    [
        ("assign_all", "assign_all_to", "assign_all_required"),
        ("assign_selected", "assign_selected_to", "assign_selected_required"),
        ("distribute", NON_FIELD_ERRORS, "distribute_to_required"),
    ],
)
def test_a_filling_button_needs_its_user(action, field, code):
    form = TransferPerClientForm(
        posted(action=action, client_ids="1"), old_user=OLD, listed_clients=rows(1)
    )
    assert not form.is_valid() and not form.fills_rows()
    assert [error.code for error in form.errors.as_data()[field]] == [code]


def test_assign_selected_needs_a_selection():
    form = TransferPerClientForm(
        posted(action="assign_selected", assign_selected_to=7, client_ids="1"),
        old_user=OLD,
        listed_clients=rows(1),
    )
    assert form.has_error("assign_selected_to", "nothing_selected")


def test_a_changed_list_is_said_and_the_rows_are_filled_all_the_same():
    form = TransferPerClientForm(
        posted(action="assign_all", assign_all_to=7, client_ids="1,2"),
        old_user=OLD,
        listed_clients=rows(1, 2, 3),
    )
    assert not form.is_valid()
    assert [error.code for error in form.non_field_errors().as_data()] == ["list_changed"]
    assert "The clients linked to Sam Leaver changed" in form.non_field_errors()[0]
    assert form.fills_rows()
    assert form.cleaned_data["assign_all_user"] == 7


def test_the_same_list_fills_without_an_error():
    form = TransferPerClientForm(
        posted(action="assign_all", assign_all_to=7, client_ids="1,2"),
        old_user=OLD,
        listed_clients=rows(1, 2),
    )
    assert form.is_valid() and form.fills_rows()


@pytest.mark.django_db
def test_distribute_only_among_eligible_users():
    eligible = OwnerFactory()
    staff = UserFactory(first_name="Helen", last_name="Ward")
    form = TransferPerClientForm(
        posted(action="distribute", distribute_to=[eligible.pk, staff.pk], client_ids="1"),
        old_user=OLD,
        listed_clients=rows(1),
        eligible_users=lambda: [eligible],
    )
    assert not form.is_valid() and not form.fills_rows()
    (error,) = form.non_field_errors().as_data()
    assert error.code == "distribute_to_invalid"
    assert "Helen Ward may not" in error.message


@pytest.mark.django_db
def test_a_typed_name_username_or_email_naming_one_eligible_user_is_understood():
    marcus = OwnerFactory(
        username="marcus.hale", first_name="Marcus", last_name="Hale", email="MHale@firm.example"
    )
    other = OwnerFactory(username="tara.lin", first_name="Tara", last_name="Lin")
    form = TransferPerClientForm(
        posted(
            client_ids="1,2,3",
            action="assign_all",
            assign_all_to="  marcus   HALE ",
            **{"client-1": "Marcus Hale", "client-2": "mhale@firm.example", "client-3": "tara.lin"},
        ),
        old_user=OLD,
        listed_clients=rows(1, 2, 3),
        eligible_users=lambda: [marcus, other],
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["assignments"] == {1: marcus.pk, 2: marcus.pk, 3: other.pk}
    assert form.cleaned_data["assign_all_user"] == marcus.pk


@pytest.mark.django_db
def test_a_typed_name_naming_several_users_is_refused_with_the_matches_listed():
    first = OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    second = OwnerFactory(username="marcus.hale2", first_name="Marcus", last_name="Hale")
    form = TransferPerClientForm(
        posted(client_ids="1", **{"client-1": "Marcus Hale"}),
        old_user=OLD,
        listed_clients=rows(1),
        eligible_users=lambda: [first, second],
    )
    assert not form.is_valid()
    assert form.row_errors[1] == (
        "“Marcus Hale” names several users: Marcus Hale (marcus.hale), "
        "Marcus Hale (marcus.hale2). Choose one from the list."
    )
