"""Walks every door that can change a record's owner or a user's is_active,
groups or permissions, and checks that each one refuses what the rules refuse
and records what it changes.

The doors are found, not listed by hand: the admin's registered ModelAdmins
(their add and change forms and every action), the URLconf's views that
accept POST, the public services that take an owner, a user or is_active, the
project's management commands, and finally every write of those fields in the
source. A new door that is not walked here makes a test fail and says which.
"""

import ast
import inspect
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command, get_commands
from django.forms import MultiWidget
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clients import services as clients_services
from clients.models import Case, Client, Deadline, Matter
from tests.conftest import permission
from tests.factories import CaseFactory, DeadlineFactory, OwnerFactory, UserFactory
from transfers.engine import services as transfers_services
from transfers.errors import TransferRefused
from transfers.models import Transfer, TransferredRecord
from users import groups
from users import services as users_services
from users.models import AccountEvent, User
from users.selectors import user_may_own_records

pytestmark = pytest.mark.django_db

BASE_DIR = Path(settings.BASE_DIR)
PROJECT_APPS = ("users", "clients", "transfers", "casengine")
OWNED_MODELS = (Client, Matter, Case, Deadline)
# Fields through which a form changes who owns what or who may do what.
DOOR_FIELDS = {
    "owner",
    "is_active",
    "sign_in_suspended_at",
    "groups",
    "user_permissions",
    "is_staff",
    "is_superuser",
}
DOOR_FIELDS_OF_GROUPS = {"permissions"}


# --- the firm the doors are walked with -------------------------------------


@pytest.fixture
def doors(administrator):
    """Dana owns a client, a matter, a case and a deadline; Nina may own records and owns
    nothing; Frank is inactive; Lena is a paralegal who owns nothing."""

    class Doors:
        pass

    firm = Doors()
    firm.admin = administrator
    firm.dana = OwnerFactory(username="dana.reyes", first_name="Dana", last_name="Reyes")
    firm.case = CaseFactory(
        matter__client__owner=firm.dana, matter__owner=firm.dana, owner=firm.dana
    )
    firm.matter, firm.client = firm.case.matter, firm.case.client
    firm.deadline = DeadlineFactory(case=firm.case, owner=firm.dana)
    firm.nina = OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    firm.frank = OwnerFactory(
        username="frank.former", first_name="Frank", last_name="Former", is_active=False
    )
    firm.lena = UserFactory(username="lena.ortiz", groups=[groups.PARALEGALS])
    firm.helen = UserFactory(username="helen.ward", groups=[groups.MANAGERS])  # may not own
    firm.managers = Group.objects.get(name=groups.MANAGERS)
    firm.attorneys = Group.objects.get(name=groups.ATTORNEYS)
    firm.record = {
        Client: firm.client,
        Matter: firm.matter,
        Case: firm.case,
        Deadline: firm.deadline,
    }
    return firm


def owner_change_receipts(record, old, new):
    return TransferredRecord.objects.filter(
        transfer__mode=Transfer.Mode.OWNER_CHANGE,
        record_type=record._meta.model_name,
        record_id=record.pk,
        from_user=old,
        to_user=new,
    )


def events(user, kind):
    return AccountEvent.objects.filter(user=user, kind=kind)


def assert_dana_untouched(firm):
    """Dana still active, allowed to own, and owner of her records (those not deleted)."""
    firm.dana.refresh_from_db()
    assert firm.dana.is_active
    assert user_may_own_records(firm.dana)
    for model, record in firm.record.items():
        owner = model.objects.filter(pk=record.pk).values_list("owner_id", flat=True).first()
        assert owner in (firm.dana.pk, None)


# --- 1. admin change and add forms ---------------------------------------------


def _admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def admin_form_doors(user) -> dict[tuple[type, str], set[str]]:
    """Every admin form (add or change) with a field that changes ownership or access."""
    request = _admin_request(user)
    found = {}
    for model, model_admin in admin.site._registry.items():
        for mode in ("add", "change"):
            obj = None if mode == "add" else model()
            allowed = (
                model_admin.has_add_permission(request)
                if mode == "add"
                else model_admin.has_change_permission(request, None)
            )
            if not allowed:
                continue
            fields = set(flatten_fieldsets(model_admin.get_fieldsets(request, obj)))
            fields -= set(model_admin.get_readonly_fields(request, obj))
            watched = DOOR_FIELDS_OF_GROUPS if model is Group else DOOR_FIELDS
            if fields & watched:
                found[(model, mode)] = fields & watched
    return found


EXPECTED_ADMIN_FORM_DOORS = {
    (Client, "add"): {"owner"},
    (Client, "change"): {"owner"},
    (Matter, "add"): {"owner"},
    (Matter, "change"): {"owner"},
    (Case, "add"): {"owner"},
    (Case, "change"): {"owner"},
    (Deadline, "add"): {"owner"},
    (Deadline, "change"): {"owner"},
    (User, "change"): {"is_active", "groups", "user_permissions", "is_staff", "is_superuser"},
    (Group, "add"): {"permissions"},
    (Group, "change"): {"permissions"},
}


def test_every_admin_form_door_is_walked(superuser):
    assert admin_form_doors(superuser) == EXPECTED_ADMIN_FORM_DOORS, (
        "An admin form gained or lost a field that changes ownership or access: walk it "
        "in this file (EXPECTED_ADMIN_FORM_DOORS and a test below)."
    )


def admin_form_data(model_admin, request, obj, **changes) -> dict:
    """The change form of `obj` as a browser would post it unchanged, then `changes`."""
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(getattr(item, "pk", item)) for item in value]
        elif value is not None:
            data[name] = str(getattr(value, "pk", value))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", OWNED_MODELS, ids=lambda m: m.__name__)
def test_admin_record_change_form_records_an_owner_change_and_refuses_inactive(
    client, doors, model
):
    client.force_login(doors.admin)
    model_admin = admin.site._registry[model]
    record = doors.record[model]
    request = _admin_request(doors.admin)

    data = admin_form_data(model_admin, request, record, owner=str(doors.frank.pk))
    response = client.post(_change_url(record), data)
    assert response.status_code == 200
    assert "Frank Former is inactive and cannot be given records." in response.content.decode()
    assert model.objects.get(pk=record.pk).owner == doors.dana
    assert not Transfer.objects.exists()

    data = admin_form_data(model_admin, request, record, owner=str(doors.nina.pk))
    assert client.post(_change_url(record), data).status_code == 302
    assert model.objects.get(pk=record.pk).owner == doors.nina
    [row] = owner_change_receipts(record, doors.dana, doors.nina).select_related("transfer")
    assert (row.transfer.actor, row.transfer.actor_name) == (doors.admin, "Olivia Grant")
    assert (row.transfer.from_user_name, row.transfer.recipients.get().to_user_name) == (
        "Dana Reyes",
        "Nina New",
    )


@pytest.mark.parametrize("model", OWNED_MODELS, ids=lambda m: m.__name__)
def test_admin_record_add_form_creates_through_the_service_and_refuses_inactive(
    client, doors, model, monkeypatch
):
    client.force_login(doors.admin)
    name = f"{model._meta.model_name}_create"
    calls = []
    real = getattr(clients_services, name)

    def spy(**kwargs):
        calls.append(kwargs["acting_user"])
        return real(**kwargs)

    monkeypatch.setattr(f"clients.admin.{name}", spy)
    data = {
        Client: {"number": "C-NEW", "name": "Adler", "kind": "person", "status": "active"},
        Matter: {
            "client": doors.client.pk,
            "number": "M-NEW",
            "title": "Merger",
            "practice_area": "corporate",
            "status": "open",
        },
        Case: {"matter": doors.matter.pk, "number": "K-NEW", "caption": "A v. B", "status": "open"},
        Deadline: {
            "matter": doors.matter.pk,
            "case": doors.case.pk,
            "title": "File the defence",
            "due_date": "2027-01-15",
            "kind": "filing",
            "status": "open",
        },
    }[model]
    identity = "title" if model is Deadline else "number"
    add_url = reverse(f"admin:clients_{model._meta.model_name}_add")
    response = client.post(add_url, {**data, "owner": doors.frank.pk})
    assert response.status_code == 200
    assert "Frank Former is inactive and cannot be given records." in response.content.decode()
    assert not model.objects.filter(**{identity: data[identity]}).exists()

    assert client.post(add_url, {**data, "owner": doors.nina.pk}).status_code == 302
    assert model.objects.get(**{identity: data[identity]}).owner == doors.nina
    assert calls == [doors.admin]


def test_admin_user_change_form_refuses_and_records(client, doors):
    client.force_login(doors.admin)
    model_admin = admin.site._registry[User]
    request = _admin_request(doors.admin)
    url = _change_url(doors.dana)
    transfer_all = reverse("transfers:transfer_all", kwargs={"user_pk": doors.dana.pk})

    for change, code_text in (
        ({"is_active": False}, "Dana Reyes still owns clients, matters or cases. Transfer"),
        ({"groups": [str(doors.managers.pk)]}, "so they must stay allowed to own them"),
        ({"groups": []}, "so they must stay allowed to own them"),
    ):
        data = admin_form_data(model_admin, request, doors.dana, **change)
        response = client.post(url, data)
        assert response.status_code == 200, change
        html = response.content.decode()
        assert code_text in html and f'href="{transfer_all}"' in html, change
        assert_dana_untouched(doors)
    assert not AccountEvent.objects.filter(user=doors.dana).exists()

    # Allowed changes, recorded with their actor.
    data = admin_form_data(
        model_admin,
        request,
        doors.lena,
        is_active=False,
        is_staff="on",
        groups=[str(doors.managers.pk)],
    )
    assert client.post(_change_url(doors.lena), data).status_code == 302
    doors.lena.refresh_from_db()
    assert not doors.lena.is_active and doors.lena.is_staff
    for kind, detail in (
        (AccountEvent.Kind.DEACTIVATED, ""),
        (AccountEvent.Kind.GROUPS_CHANGED, "Groups: Paralegals → Managers"),
        (AccountEvent.Kind.ACCESS_CHANGED, "Staff access given"),
    ):
        event = events(doors.lena, kind).get()
        assert (event.actor, event.detail) == (doors.admin, detail)


def test_admin_user_add_form_records_the_creation(client, doors):
    client.force_login(doors.admin)
    response = client.post(
        reverse("admin:users_user_add"),
        {
            "username": "added.in.admin",
            "usable_password": "true",
            "password1": "Quill-Harbour-7731",
            "password2": "Quill-Harbour-7731",
        },
    )
    assert response.status_code == 302
    event = AccountEvent.objects.get(user__username="added.in.admin")
    assert (event.kind, event.actor, event.actor_name) == ("created", doors.admin, "Olivia Grant")


def test_admin_user_change_form_refusal_under_the_lock_rolls_back(client, doors, monkeypatch):
    """The owner gets a record after the form's check: the service refuses under
    the lock, the whole save (details included) is rolled back."""
    client.force_login(doors.admin)
    model_admin = admin.site._registry[User]
    data = admin_form_data(
        model_admin, _admin_request(doors.admin), doors.nina, is_active=False, first_name="Nia"
    )
    monkeypatch.setattr("users.admin.deactivation_refusal", lambda **kwargs: None)
    CaseFactory(matter__client__owner=doors.nina, matter__owner=doors.nina, owner=doors.nina)
    response = client.post(_change_url(doors.nina), data, follow=True)
    html = response.content.decode()
    assert "Nina New still owns clients, matters or cases." in html
    transfer_all = reverse("transfers:transfer_all", kwargs={"user_pk": doors.nina.pk})
    assert f'<a href="{transfer_all}">User Transfer All for Nina New</a>' in html
    doors.nina.refresh_from_db()
    assert doors.nina.is_active and doors.nina.first_name == "Nina"
    assert not AccountEvent.objects.exists()


def test_admin_group_form_refuses_to_take_the_permission_from_owners(client, doors, superuser):
    client.force_login(superuser)
    model_admin = admin.site._registry[Group]
    own = permission("own_records", app_label="users")
    kept = [str(pk) for pk in doors.attorneys.permissions.exclude(pk=own.pk).values_list("pk")]
    data = admin_form_data(
        model_admin, _admin_request(superuser), doors.attorneys, permissions=kept
    )
    response = client.post(_change_url(doors.attorneys), data)
    assert response.status_code == 200
    assert "Dana Reyes, Nina New still own clients" not in response.content.decode()
    assert "Dana Reyes still own clients, matters or cases" in response.content.decode()
    assert doors.attorneys.permissions.filter(pk=own.pk).exists()
    # A new group grants, it cannot take away: nothing to refuse.
    response = client.post(reverse("admin:auth_group_add"), {"name": "Interns"})
    assert response.status_code == 302


def test_admin_group_form_records_access_given_and_taken_through_the_group(
    client, doors, superuser
):
    """Giving a group users.transfer_records gives each member new power: each
    member's history says so, naming the group, the change and who made it."""
    client.force_login(superuser)
    model_admin = admin.site._registry[Group]
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    second = UserFactory(username="sam.second", groups=[groups.PARALEGALS])
    transfer = permission("transfer_records", app_label="users")
    kept = [str(pk) for pk in paralegals.permissions.values_list("pk", flat=True)]

    data = admin_form_data(
        model_admin, _admin_request(superuser), paralegals, permissions=[*kept, str(transfer.pk)]
    )
    assert client.post(_change_url(paralegals), data).status_code == 302
    assert paralegals.permissions.filter(pk=transfer.pk).exists()
    for member in (doors.lena, second):
        event = events(member, AccountEvent.Kind.ACCESS_CHANGED).get()
        assert event.detail == 'Through group "Paralegals": users.transfer_records given'
        assert (event.actor, event.actor_name) == (superuser, superuser.full_name)

    data = admin_form_data(model_admin, _admin_request(superuser), paralegals, permissions=kept)
    assert client.post(_change_url(paralegals), data).status_code == 302
    assert events(doors.lena, AccountEvent.Kind.ACCESS_CHANGED).order_by("-pk").first().detail == (
        'Through group "Paralegals": users.transfer_records removed'
    )
    # A permission that gives no power over records or accounts is not written.
    before = AccountEvent.objects.count()
    minor = permission("view_accountevent", app_label="users")
    data = admin_form_data(
        model_admin, _admin_request(superuser), paralegals, permissions=[*kept, str(minor.pk)]
    )
    assert client.post(_change_url(paralegals), data).status_code == 302
    assert AccountEvent.objects.count() == before


def test_admin_group_deletion_records_each_member(client, doors, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:auth_group_delete", args=[doors.managers.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Group.objects.filter(name=groups.MANAGERS).exists()
    event = events(doors.helen, AccountEvent.Kind.GROUPS_CHANGED).get()
    assert event.detail == 'Group "Managers" deleted. Groups: Managers → none'
    assert event.actor == superuser
    # Lena owns nothing: her group, and with it the permission to own records, may go.
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    response = client.post(
        reverse("admin:auth_group_delete", args=[paralegals.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert events(doors.lena, AccountEvent.Kind.GROUPS_CHANGED).get().detail == (
        'Group "Paralegals" deleted. Groups: Paralegals → none; removed with it: users.own_records'
    )


def test_a_group_deletion_and_its_events_are_one_transaction(doors, superuser, monkeypatch):
    def failing(**kwargs):
        raise RuntimeError("history unavailable")

    monkeypatch.setattr(users_services, "account_event_record", failing)
    with pytest.raises(RuntimeError):
        users_services.group_delete(group=doors.managers, acting_user=superuser)
    assert Group.objects.filter(pk=doors.managers.pk).exists()
    assert doors.helen.groups.filter(pk=doors.managers.pk).exists()


# --- 2. admin actions, bulk ones included ----------------------------------------


def _run_action(client, model, action, selected):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(
        url,
        {
            "action": action,
            ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in selected],
            "post": "yes",  # the confirmation step of delete_selected
            "index": "0",
        },
        follow=True,
    )


def door_actions(user) -> list[tuple[type, str]]:
    request = _admin_request(user)
    request.GET = {}
    found = []
    for model in (User, Group, *OWNED_MODELS):
        names = list(admin.site._registry[model].get_actions(request))
        # Deletions last, so the other actions still find the users they act on.
        found += [(model, name) for name in sorted(names, key=lambda n: n == "delete_selected")]
    return found


def test_the_door_models_have_the_expected_actions(superuser):
    """Not a whitelist of what is allowed (the walk below runs any action): a
    check that the walk sees the actions the admin offers."""
    actions = door_actions(superuser)
    assert (User, "deactivate_selected") in actions
    assert (User, "activate_selected") in actions
    assert (User, "suspend_selected") in actions
    assert (User, "restore_selected") in actions
    assert (User, "delete_selected") in actions
    assert (Group, "delete_selected") in actions


def test_every_admin_action_keeps_the_rules(client, doors, superuser):
    """Runs every action of the user, group and record admins on a selection
    that the rules protect, and checks what each left behind. Record actions
    run last: deleting a record is not an owner change."""
    client.force_login(doors.admin)
    doors.admin.is_superuser = True  # every action of every admin is offered to it
    doors.admin.save(update_fields=["is_superuser"])
    for model, action in door_actions(superuser):
        before = set(AccountEvent.objects.values_list("pk", flat=True))
        states = {user.pk: user.is_active for user in User.objects.all()}
        if model is User:
            selected = [doors.dana, doors.admin, doors.lena, doors.frank]
        elif model is Group:
            selected = [doors.attorneys]
        else:
            selected = [doors.record[model]]
        response = _run_action(client, model, action, selected)
        assert response.status_code == 200, (model, action)
        assert_dana_untouched(doors)
        doors.admin.refresh_from_db()
        assert doors.admin.is_active, (model, action)
        # Every change of is_active (or deletion) is in the account history.
        for user_pk, was_active in states.items():
            user = User.objects.filter(pk=user_pk).first()
            new_events = AccountEvent.objects.filter(user_id=user_pk).exclude(pk__in=before)
            if user is None:
                assert AccountEvent.objects.filter(
                    kind=AccountEvent.Kind.DELETED, user=None
                ).exists(), (model, action)
            elif user.is_active != was_active:
                kind = (
                    AccountEvent.Kind.REACTIVATED
                    if user.is_active
                    else AccountEvent.Kind.DEACTIVATED
                )
                assert new_events.filter(kind=kind, actor=doors.admin).exists(), (model, action)
        # Records that changed owner have a receipt.
        for owned in OWNED_MODELS:
            for record in owned.objects.exclude(owner=doors.dana):
                if record.owner_id != doors.nina.pk:
                    assert Transfer.objects.filter(
                        mode=Transfer.Mode.OWNER_CHANGE, records__record_id=record.pk
                    ).exists(), (model, action)
        if (model, action) == (User, "deactivate_selected"):
            html = response.content.decode()
            assert "Dana Reyes still owns clients, matters or cases." in html
            assert "You cannot deactivate your own account." in html
            assert events(doors.lena, AccountEvent.Kind.DEACTIVATED).exists()
        if (model, action) == (User, "activate_selected"):
            assert events(doors.frank, AccountEvent.Kind.REACTIVATED).exists()
        if (model, action) == (User, "suspend_selected"):
            # Allowed while Dana owns records; refused for one's own account.
            html = response.content.decode()
            assert "You cannot suspend your own sign-in." in html
            for user in (doors.dana, doors.lena):
                event = events(user, AccountEvent.Kind.SIGN_IN_SUSPENDED).get()
                assert event.actor == doors.admin
            doors.admin.refresh_from_db()
            assert doors.admin.sign_in_suspended_at is None
        if (model, action) == (User, "restore_selected"):
            for user in (doors.dana, doors.lena):
                assert events(user, AccountEvent.Kind.SIGN_IN_RESTORED).get().actor == doors.admin
            assert not User.objects.filter(sign_in_suspended_at__isnull=False).exists()
        if (model, action) == (Group, "delete_selected"):
            assert Group.objects.filter(pk=doors.attorneys.pk).exists()  # Dana owns records
            assert "Dana Reyes still own clients" in response.content.decode()


# --- 3. views that accept POST (the settings forms and the transfer screens) -----


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{entry.namespace}:" if entry.namespace else ""
            if namespace == "admin:":
                continue  # walked above, ModelAdmin by ModelAdmin
            yield from _patterns(entry, prefix + namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + entry.name, entry.callback


def post_doors() -> set[str]:
    names = set()
    for name, callback in _patterns():
        view_class = getattr(callback, "view_class", None)
        methods = getattr(view_class, "http_method_names", ["post"]) if view_class else ["post"]
        if "post" in methods and (view_class is None or hasattr(view_class, "post")):
            names.add(name)
    return names


POST_DOORS = {
    "users:user_create": "creates an account: recorded as created",
    "users:user_update": "groups and is_active through user_update: refused and recorded",
    "users:user_sign_in_suspend": "through user_sign_in_suspend: refused and recorded",
    "users:user_sign_in_restore": "through user_sign_in_restore: refused and recorded",
    "transfers:transfer_all": "through records_transfer_all: receipt, deactivation recorded",
    "transfers:transfer_per_client": "through records_transfer_per_client: the same",
    "transfers:transfer_revert": "through transfer_revert: receipt, reactivation recorded",
}
NOT_DOORS = {
    "transfers:transfer_job_cancel": (
        "cancels a job before it moves anything: changes no owner and no account; recorded on "
        "the job (tests/transfers/test_job_liveness.py)"
    ),
    "login": "signs in; throttled by django-axes",
    "logout": "signs out",
    "password_reset": "sends a link to an account that may sign in; changes nothing",
    "password_reset_confirm": "sets a password; no owner, access or account state",
}


def test_every_view_that_accepts_post_is_walked():
    assert post_doors() == set(POST_DOORS) | set(NOT_DOORS), (
        "A view accepting POST was added or removed: walk it here (POST_DOORS) or say why "
        "it changes no owner and no account (NOT_DOORS)."
    )


def test_settings_edit_form_refuses_and_records(client, doors):
    client.force_login(doors.admin)
    url = reverse("users:user_update", args=[doors.dana.pk])
    base = {"first_name": "Dana", "last_name": "Reyes", "email": doors.dana.email}
    response = client.post(url, {**base, "groups": [doors.managers.pk]})
    codes = {
        field: [error.code for error in errors]
        for field, errors in response.context["form"].errors.as_data().items()
    }
    assert codes == {"groups": ["owner_permission_removed"], "is_active": ["owns_records"]}
    assert_dana_untouched(doors)
    response = client.post(
        reverse("users:user_update", args=[doors.lena.pk]),
        {"first_name": "Lena", "last_name": "Ortiz", "email": "", "groups": []},
    )
    assert response.status_code == 302
    assert events(doors.lena, AccountEvent.Kind.DEACTIVATED).get().actor == doors.admin
    assert events(doors.lena, AccountEvent.Kind.GROUPS_CHANGED).get().actor == doors.admin


def test_settings_add_form_records_the_creation(client, doors):
    client.force_login(doors.admin)
    response = client.post(
        reverse("users:user_create"),
        {
            "username": "new.person",
            "first_name": "New",
            "last_name": "Person",
            "email": "",
            "groups": [doors.attorneys.pk],
            "password1": "Quill-Harbour-7731",
            "password2": "Quill-Harbour-7731",
        },
    )
    assert response.status_code == 302
    event = AccountEvent.objects.get(user__username="new.person")
    assert (event.kind, event.actor, event.detail) == ("created", doors.admin, "Groups: Attorneys")


def test_transfer_screens_and_revert_record_deactivation_and_reactivation(client, doors):
    client.force_login(doors.admin)
    response = client.post(
        reverse("transfers:transfer_all", args=[doors.dana.pk]),
        {"new_user": doors.nina.pk, "deactivate_old_user": "on", "request_key": ""},
    )
    assert response.status_code == 302
    transfer = Transfer.objects.get(mode=Transfer.Mode.ALL)
    event = events(doors.dana, AccountEvent.Kind.DEACTIVATED).get()
    assert (event.actor, event.receipt_number) == (doors.admin, transfer.pk)

    response = client.post(reverse("transfers:transfer_revert", args=[transfer.pk]))
    assert response.status_code == 302
    revert = Transfer.objects.get(mode=Transfer.Mode.REVERT)
    event = events(doors.dana, AccountEvent.Kind.REACTIVATED).get()
    assert (event.actor, event.receipt_number) == (doors.admin, revert.pk)

    page = client.get(reverse("transfers:transfer_per_client", args=[doors.dana.pk]))
    response = client.post(
        reverse("transfers:transfer_per_client", args=[doors.dana.pk]),
        {
            "client_ids": page.context["shown_client_ids"],
            "request_key": page.context["request_key"],
            "action": "save",
            f"client-{doors.client.pk}": doors.nina.pk,
            "deactivate_old_user": "on",
        },
    )
    assert response.status_code == 302
    per_client = Transfer.objects.get(mode=Transfer.Mode.PER_CLIENT)
    latest = events(doors.dana, AccountEvent.Kind.DEACTIVATED).order_by("-pk").first()
    assert latest.receipt_number == per_client.pk


# --- 4. services -------------------------------------------------------------------

SERVICE_MODULES = (users_services, clients_services, transfers_services)
# A public service is a door when it takes one of these.
DOOR_PARAMETERS = {
    "owner",
    "new_owner",
    "is_active",
    "groups",
    "user_permissions",
    "is_superuser",
    "old_user",
    "new_user",
    "transfer",
    "user",
    "record",
    "group",
}
SERVICE_DOORS = {
    "users.services.user_create": "records created",
    "users.services.user_update": "refuses; records groups and is_active",
    "users.services.user_access_update": "refuses owner_permission_removed; records",
    "users.services.user_set_active": "refuses owns_records; records",
    "users.services.user_delete_record": "records a deletion",
    "users.services.user_sign_in_suspend": "refuses suspend_self and the rest; records",
    "users.services.user_sign_in_restore": "refuses not_suspended; records",
    "users.services.suspension_refusal": "read only: why a suspension is refused",
    "users.services.account_event_record": "writes the event itself",
    "users.services.deactivation_refusal": "read only: why a deactivation is refused",
    "users.services.ownership_permission_refusal": "read only: builds the refusal",
    "users.services.access_snapshot": "read only",
    "users.services.group_permissions_update": "refuses owner_permission_removed; records",
    "users.services.group_delete": "refuses owner_permission_removed; records",
    "clients.services.client_create": "refuses owner_inactive / owner_ineligible",
    "clients.services.matter_create": "refuses owner_inactive / owner_ineligible",
    "clients.services.case_create": "refuses owner_inactive / owner_ineligible",
    "clients.services.deadline_create": "refuses owner_inactive / owner_ineligible",
    "clients.services.record_owner_change": "refuses; records an owner-change receipt",
    "clients.services.record_update": "refuses an owner (record_owner_change's)",
    "transfers.engine.services.records_transfer_all": "receipt; deactivation recorded",
    "transfers.engine.services.records_transfer_per_client": "receipt; deactivation recorded",
    "transfers.engine.services.records_transfer_distributed": "receipt; deactivation recorded",
    "transfers.engine.services.transfer_revert": "receipt; reactivation recorded",
}


def service_doors() -> set[str]:
    found = set()
    for module in SERVICE_MODULES:
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or function.__module__ != module.__name__:
                continue
            if DOOR_PARAMETERS & set(inspect.signature(function).parameters):
                found.add(f"{module.__name__}.{name}")
    return found


def test_every_service_door_is_walked():
    assert service_doors() == set(SERVICE_DOORS), (
        "A public service taking an owner, a user or is_active was added or removed: "
        "walk it here (SERVICE_DOORS and a test)."
    )


def test_services_refuse_with_their_codes_and_change_nothing(doors):
    def code_of(call):
        with pytest.raises(ValidationError) as refused:
            call()
        error = refused.value
        if hasattr(error, "error_dict"):
            return {field: [e.code for e in errs] for field, errs in error.error_dict.items()}
        return error.code

    admin_user, dana = doors.admin, doors.dana
    assert (
        code_of(
            lambda: users_services.user_set_active(
                user=dana, is_active=False, acting_user=admin_user
            )
        )
        == "owns_records"
    )
    assert (
        code_of(
            lambda: users_services.user_access_update(
                user=dana, acting_user=admin_user, groups=[doors.managers]
            )
        )
        == "owner_permission_removed"
    )
    assert (
        code_of(
            lambda: users_services.user_access_update(
                user=dana, acting_user=admin_user, user_permissions=[], groups=[]
            )
        )
        == "owner_permission_removed"
    )
    assert code_of(
        lambda: users_services.user_update(
            user=dana,
            acting_user=admin_user,
            first_name="D",
            last_name="R",
            email="",
            groups=[],
            is_active=False,
        )
    ) == {"groups": ["owner_permission_removed"], "is_active": ["owns_records"]}
    for model in OWNED_MODELS:
        assert code_of(
            lambda model=model: clients_services.record_owner_change(
                acting_user=admin_user, record=doors.record[model], new_owner=doors.frank
            )
        ) == {"owner": ["owner_inactive"]}
        assert code_of(
            lambda model=model: clients_services.record_owner_change(
                acting_user=admin_user, record=doors.record[model], new_owner=doors.helen.pk
            )
        ) == {"owner": ["owner_ineligible"]}
    assert code_of(
        lambda: clients_services.client_create(
            acting_user=admin_user, owner=doors.frank, number="C-X", name="X"
        )
    ) == {"owner": ["owner_inactive"]}
    assert code_of(
        lambda: clients_services.matter_create(
            acting_user=admin_user, owner=doors.helen, client=doors.client, number="M-X", title="X"
        )
    ) == {"owner": ["owner_ineligible"]}
    assert code_of(
        lambda: clients_services.case_create(
            acting_user=admin_user,
            owner=doors.frank,
            matter=doors.matter,
            number="K-X",
            caption="X",
        )
    ) == {"owner": ["owner_inactive"]}
    assert (
        code_of(
            lambda: users_services.user_sign_in_suspend(user=admin_user, acting_user=admin_user)
        )
        == "suspend_self"
    )
    assert (
        code_of(
            lambda: users_services.user_sign_in_suspend(user=doors.frank, acting_user=admin_user)
        )
        == "suspend_inactive"
    )
    assert (
        code_of(lambda: users_services.user_sign_in_restore(user=dana, acting_user=admin_user))
        == "not_suspended"
    )
    own = permission("own_records", app_label="users")
    assert (
        code_of(
            lambda: users_services.group_permissions_update(
                group=doors.attorneys,
                permissions=doors.attorneys.permissions.exclude(pk=own.pk),
                acting_user=admin_user,
            )
        )
        == "owner_permission_removed"
    )
    assert doors.attorneys.permissions.filter(pk=own.pk).exists()
    assert (
        code_of(lambda: users_services.group_delete(group=doors.attorneys, acting_user=admin_user))
        == "owner_permission_removed"
    )
    assert Group.objects.filter(pk=doors.attorneys.pk).exists()
    assert code_of(
        lambda: clients_services.deadline_create(
            acting_user=admin_user,
            owner=doors.helen,
            matter=doors.matter,
            title="X",
            due_date=doors.deadline.due_date,
        )
    ) == {"owner": ["owner_ineligible"]}
    for model in OWNED_MODELS:
        for field in ("owner", "owner_id"):
            with pytest.raises(ValueError, match="record_owner_change"):
                clients_services.record_update(
                    acting_user=admin_user, record=doors.record[model], **{field: doors.nina}
                )
    with pytest.raises(TransferRefused) as refused:
        transfers_services.records_transfer_distributed(
            acting_user=admin_user, old_user=dana, to_users=[doors.frank], deactivate_old_user=True
        )
    assert refused.value.code == "new_user_inactive"
    assert_dana_untouched(doors)
    assert not AccountEvent.objects.exists() and not Transfer.objects.exists()


def test_services_record_what_they_change(doors):
    admin_user = doors.admin
    for model in OWNED_MODELS:
        clients_services.record_owner_change(
            acting_user=admin_user, record=doors.record[model], new_owner=doors.nina
        )
        assert owner_change_receipts(doors.record[model], doors.dana, doors.nina).count() == 1
    # Giving a record to its owner changes nothing and records nothing.
    clients_services.record_owner_change(
        acting_user=admin_user, record=doors.client, new_owner=doors.nina
    )
    assert Transfer.objects.count() == len(OWNED_MODELS)
    users_services.user_set_active(user=doors.dana, is_active=False, acting_user=admin_user)
    users_services.user_set_active(user=doors.dana, is_active=True, acting_user=None)
    kinds = list(
        AccountEvent.objects.filter(user=doors.dana).order_by("pk").values_list("kind", "actor")
    )
    assert kinds == [("deactivated", admin_user.pk), ("reactivated", None)]
    users_services.user_sign_in_suspend(user=doors.dana, acting_user=admin_user, reason="Leaves")
    users_services.user_sign_in_restore(
        user=doors.dana, acting_user=None, actor_name="API token “Okta”"
    )
    suspended, restored = AccountEvent.objects.filter(user=doors.dana).order_by("pk")[2:]
    assert (suspended.kind, suspended.actor, suspended.detail) == (
        "sign_in_suspended",
        admin_user,
        "Reason: Leaves",
    )
    assert (restored.kind, restored.actor, restored.actor_name) == (
        "sign_in_restored",
        None,
        "API token “Okta”",
    )


# --- 5. management commands ---------------------------------------------------------

COMMAND_DOORS = {
    "ensure_admin": "creates, reactivates or restores sign-in through the services; recorded",
    "transfer_user": "through the transfer services; deactivation recorded",
    "seed_demo": "creates demo users through user_create, records for eligible owners",
    "db_worker": (
        "runs queued transfers through the same services (tests/transfers/test_jobs.py); its "
        "reaper only fails jobs whose worker died, changing no owner and no account"
    ),
    "user_suspend": "through user_sign_in_suspend and user_sign_in_restore; recorded",
}


def test_every_project_command_is_walked():
    found = {name for name, app in get_commands().items() if app in PROJECT_APPS}
    assert found == set(COMMAND_DOORS), (
        "A management command was added or removed: walk it here (COMMAND_DOORS)."
    )


def test_commands_go_through_the_services_and_record(doors):
    call_command(
        "transfer_user",
        "dana.reyes",
        "--to",
        "nina.new",
        "--by",
        doors.admin.username,
        "--deactivate",
        stdout=StringIO(),
    )
    transfer = Transfer.objects.get(mode=Transfer.Mode.ALL)
    event = events(doors.dana, AccountEvent.Kind.DEACTIVATED).get()
    assert (event.actor, event.receipt_number) == (doors.admin, transfer.pk)

    call_command(
        "user_suspend",
        "nina.new",
        "--by",
        doors.admin.username,
        "--reason",
        "Leaves",
        stdout=StringIO(),
    )
    event = events(doors.nina, AccountEvent.Kind.SIGN_IN_SUSPENDED).get()
    assert (event.actor, event.detail) == (doors.admin, "Reason: Leaves")
    call_command(
        "user_suspend", "nina.new", "--by", doors.admin.username, "--restore", stdout=StringIO()
    )
    assert events(doors.nina, AccountEvent.Kind.SIGN_IN_RESTORED).get().actor == doors.admin

    call_command("ensure_admin", "--username", "dana.reyes", stdout=StringIO())
    doors.dana.refresh_from_db()
    assert doors.dana.is_active and doors.dana.is_superuser
    assert events(doors.dana, AccountEvent.Kind.REACTIVATED).get().actor is None

    call_command("seed_demo", stdout=StringIO())
    demo = User.objects.filter(username="marcus.hale").get()
    assert events(demo, AccountEvent.Kind.CREATED).exists()
    for model in OWNED_MODELS:
        owners = User.objects.filter(pk__in=model.objects.values("owner_id"))
        assert all(owner.is_active and user_may_own_records(owner) for owner in owners)


# --- 6. the source: no other code writes these fields ----------------------------------

# Modules that may write owners, is_active, groups and permissions: the services.
WRITERS = {
    "users/services.py",
    "clients/services.py",
    "transfers/engine/moves.py",
    "transfers/engine/revert.py",
}
OWNERSHIP_ATTRIBUTES = {
    "owner",
    "owner_id",
    "is_active",
    "is_superuser",
    "is_staff",
    "sign_in_suspended_at",
}
ACCESS_RELATIONS = {"groups", "user_permissions", "user_set", "permissions"}
M2M_WRITES = {"set", "add", "remove", "clear"}


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in OWNERSHIP_ATTRIBUTES:
                    found.append((node.lineno, f".{target.attr} = …"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "update":
                names = {kw.arg for kw in node.keywords} & OWNERSHIP_ATTRIBUTES
                if names:
                    found.append((node.lineno, f".update({', '.join(sorted(names))}=…)"))
            receiver = node.func.value
            if (
                node.func.attr in M2M_WRITES
                and isinstance(receiver, ast.Attribute)
                and receiver.attr in ACCESS_RELATIONS
            ):
                found.append((node.lineno, f".{receiver.attr}.{node.func.attr}(…)"))
    return found


def test_only_the_services_write_owners_active_state_and_access():
    offenders = []
    for app in PROJECT_APPS:
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            relative = path.relative_to(BASE_DIR).as_posix()
            if "/migrations/" in relative or relative in WRITERS:
                continue
            for line, what in _writes(ast.parse(path.read_text(), relative)):
                offenders.append(f"{relative}:{line} {what}")
    assert offenders == [], (
        "Only users.services, clients.services and the transfer engine may write owners, "
        "is_active, groups and permissions; go through them: " + "; ".join(offenders)
    )
