"""A NUL character in any search or filter parameter of any page answers 200 or
400, never 500: PostgreSQL refuses it in text, so a query given it fails with a
DataError (issue 22). casengine.middleware.UnstorableQueryMiddleware drops
such values for every page at once: the page answers as without them.

The pages and their parameters are found, not listed by hand: every named URL
of the project (admin excluded), with the parameters its views read (the grids'
filter sets and options, the search forms, and every name passed to
`GET.get(...)` in the source), and every admin change list with its search and
the parameters of its list filters."""

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clients.filters import CaseFilterSet, ClientFilterSet, DeadlineFilterSet, MatterFilterSet
from clients.forms import GridOptionsForm
from tests.factories import CaseFactory, DeadlineFactory, OwnerFactory
from transfers.engine.services import records_transfer_all
from transfers.models import Transfer
from users.forms import UserSearchForm

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

PROJECT_APPS = ("users", "clients", "transfers", "casengine")
NUL = "\x00"


def names_read_from_get() -> set[str]:
    """Every literal name the source reads with `GET.get("name")` or `GET["name"]`."""
    names = set()
    for app in PROJECT_APPS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get"
                    and isinstance(node.func.value, ast.Attribute)
                    and node.func.value.attr == "GET"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    names.add(node.args[0].value)
                if (
                    isinstance(node, ast.Subscript)
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "GET"
                    and isinstance(node.slice, ast.Constant)
                ):
                    names.add(node.slice.value)
    return names


def page_parameters() -> set[str]:
    names = names_read_from_get() | {"sort", "page"}
    for filterset in (ClientFilterSet, MatterFilterSet, CaseFilterSet, DeadlineFilterSet):
        names |= set(filterset.base_filters)
    for form in (GridOptionsForm, UserSearchForm):
        names |= set(form.base_fields)
    return names


def project_pages(resolver=None, namespace=""):
    """(name, number of URL arguments) of every named URL outside the admin."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            prefix = f"{entry.namespace}:" if entry.namespace else ""
            yield from project_pages(entry, namespace + prefix)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, len(entry.pattern.converters)


def admin_change_lists(superuser) -> list[tuple[str, set[str]]]:
    """(URL, parameters) of every admin change list: its search and the
    parameters its list filters read."""
    found = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        request = RequestFactory().get(url)
        request.user = superuser
        change_list = model_admin.get_changelist_instance(request)
        parameters = {"q", "o", "p"}
        for spec in change_list.filter_specs:
            parameters |= set(spec.expected_parameters())
        found.append((url, parameters))
    return found


@pytest.fixture
def firm(administrator):
    old, new = OwnerFactory(username="old.owner"), OwnerFactory(username="new.owner")
    case = CaseFactory(owner=old, matter__owner=old, matter__client__owner=old)
    deadline = DeadlineFactory(case=case, owner=old)
    transfer = records_transfer_all(acting_user=administrator, old_user=old, new_user=new)
    return {
        "case": case,
        "deadline": deadline,
        "old": old,
        "transfer": Transfer.objects.get(pk=transfer.transfer.pk),
    }


def page_url(name: str, arguments: int, firm) -> str:
    if not arguments:
        return reverse(name)
    if arguments == 2:  # a password reset link: any uid and token (refused, never a 500)
        return reverse(name, args=["MQ", "set-password"])
    if name.startswith("clients:"):
        record = {
            "client": firm["case"].client,
            "matter": firm["case"].matter,
            "deadline": firm["deadline"],
        }.get(name.split(":")[1].split("_")[0], firm["case"])
        return reverse(name, args=[record.pk])
    if "user" in name:
        return reverse(name, args=[firm["old"].pk])
    return reverse(name, args=[firm["transfer"].pk])


def test_a_nul_in_any_search_or_filter_parameter_is_never_a_server_error(client, superuser, firm):
    client.force_login(superuser)
    client.raise_request_exception = False
    parameters = page_parameters()
    assert {"q", "owner", "status", "client", "matter", "type", "per_page"} <= parameters
    pages = [
        (page_url(name, arguments, firm), parameters)
        for name, arguments in project_pages()
        if name != "logout"
    ]
    pages += admin_change_lists(superuser)
    assert any(url == reverse("transfers:transfer_list") for url, _ in pages)
    answers, unexpected = {}, []
    for url, names in pages:
        without = client.get(url).status_code  # the page's own answer: 200, 302, 404, 405
        assert without < 500, url
        for name in sorted(names):
            for value in (NUL, f"Hoff{NUL}mann"):
                answers[(url, name, value)] = client.get(url, {name: value}).status_code
        answers[(url, NUL, "1")] = client.get(url, {NUL: "1"}).status_code
        unexpected += [
            (key, status)
            for key, status in answers.items()
            if key[0] == url and status not in (200, 400, without)
        ]
    assert unexpected == []
    # Ignored or refused, the page still works without it.
    assert client.get(reverse("transfers:transfer_list"), {"q": "old"}).status_code == 200
