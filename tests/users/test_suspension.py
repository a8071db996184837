"""Suspend sign-in: the service and its refusals, what a suspension does
(sessions, sign-in, password reset, API tokens, receiving records), the
command, and the rule of who may own records."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from clients.models import Client
from clients.record_types import RecordCounts
from clients.services import client_create, record_owner_change
from tests.factories import TEST_PASSWORD, CaseFactory, ClientFactory, OwnerFactory, UserFactory
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_per_client,
    transfer_revert,
)
from transfers.errors import TransferRefused
from transfers.receipts.selectors import transfer_revert_refusal
from users import groups
from users.account_states import leavers, with_account_state
from users.models import AccountEvent, User
from users.password_reset import password_reset_token_generator
from users.selectors import eligible_owners, user_is_eligible_owner, user_may_act
from users.services import user_set_active, user_sign_in_restore, user_sign_in_suspend

pytestmark = pytest.mark.django_db


def refusal_code(call) -> str:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.code


@pytest.fixture
def leaver():
    """Sam owns a client with a matter and a case."""
    sam = OwnerFactory(username="sam.okafor", first_name="Sam", last_name="Okafor")
    CaseFactory(matter__client__owner=sam)
    return sam


# --- the service -------------------------------------------------------------------


def test_suspension_is_allowed_while_the_user_owns_records_and_is_recorded(administrator, leaver):
    user_sign_in_suspend(user=leaver, acting_user=administrator, reason="  Leaves on Friday ")
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is not None
    assert leaver.sign_in_suspension_reason == "Leaves on Friday"
    assert leaver.is_active
    assert Client.objects.filter(owner=leaver).count() == 1
    event = AccountEvent.objects.get(user=leaver)
    assert (event.kind, event.actor, event.actor_name, event.detail) == (
        AccountEvent.Kind.SIGN_IN_SUSPENDED,
        administrator,
        "Olivia Grant",
        "Reason: Leaves on Friday",
    )

    user_sign_in_restore(user=leaver, acting_user=administrator)
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None and leaver.sign_in_suspension_reason == ""
    assert list(
        AccountEvent.objects.filter(user=leaver).order_by("pk").values_list("kind", flat=True)
    ) == [AccountEvent.Kind.SIGN_IN_SUSPENDED, AccountEvent.Kind.SIGN_IN_RESTORED]


def _refusal_case(code, administrator, leaver):
    if code == "suspend_self":
        return lambda: user_sign_in_suspend(user=administrator, acting_user=administrator)
    if code == "suspend_inactive":
        gone = UserFactory(is_active=False)
        return lambda: user_sign_in_suspend(user=gone, acting_user=administrator)
    if code == "already_suspended":
        user_sign_in_suspend(user=leaver, acting_user=administrator)
        return lambda: user_sign_in_suspend(user=leaver, acting_user=administrator)
    if code == "suspend_last_superuser":
        root = UserFactory(is_superuser=True)
        # Another superuser who is suspended does not count: they cannot sign in.
        other = UserFactory(is_superuser=True)
        user_sign_in_suspend(user=other, acting_user=administrator)
        return lambda: user_sign_in_suspend(user=root, acting_user=administrator)
    assert code == "not_suspended"
    return lambda: user_sign_in_restore(user=leaver, acting_user=administrator)


@pytest.mark.parametrize(
    "code",
    [
        "suspend_self",
        "suspend_inactive",
        "already_suspended",
        "suspend_last_superuser",
        "not_suspended",
    ],
)
def test_every_refusal_has_its_code_and_changes_nothing(code, administrator, leaver):
    call = _refusal_case(code, administrator, leaver)
    before = sorted(User.objects.values_list("pk", "is_active", "sign_in_suspended_at"))
    events_before = AccountEvent.objects.count()
    assert refusal_code(call) == code
    assert sorted(User.objects.values_list("pk", "is_active", "sign_in_suspended_at")) == before
    assert AccountEvent.objects.count() == events_before


def test_refusal_messages_name_the_user(administrator, leaver):
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    with pytest.raises(ValidationError) as refused:
        user_sign_in_suspend(user=leaver, acting_user=administrator)
    assert refused.value.messages == ["Sam Okafor's sign-in is already suspended."]
    with pytest.raises(ValidationError) as refused:
        user_sign_in_suspend(user=administrator, acting_user=administrator)
    assert refused.value.messages == ["You cannot suspend your own sign-in."]


def test_a_superuser_may_be_suspended_while_another_may_sign_in(administrator):
    first, second = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    user_sign_in_suspend(user=first, acting_user=administrator)
    # The last superuser who may sign in can then be neither suspended nor deactivated.
    assert refusal_code(lambda: user_sign_in_suspend(user=second, acting_user=administrator)) == (
        "suspend_last_superuser"
    )
    assert (
        refusal_code(
            lambda: user_set_active(user=second, is_active=False, acting_user=administrator)
        )
        == "last_superuser"
    )


def test_an_identity_provider_token_is_recorded_by_name(leaver):
    token = "API token “Okta”"
    user_sign_in_suspend(user=leaver, acting_user=None, actor_name=token)
    idle = OwnerFactory()
    user_set_active(user=idle, is_active=False, acting_user=None, actor_name=token)
    for user, kind in ((leaver, "sign_in_suspended"), (idle, "deactivated")):
        event = AccountEvent.objects.get(user=user)
        assert (event.kind, event.actor, event.actor_name) == (kind, None, token)


def test_an_api_token_acting_for_its_creator_is_named_with_the_creator_behind_it(
    administrator, leaver
):
    """A token acts for the administrator who created it: the event keeps them as
    the actor and names the token as it was written."""
    user_sign_in_suspend(
        user=leaver, acting_user=administrator, actor_name="API token “Okta” (Olivia Grant)"
    )
    event = AccountEvent.objects.get(user=leaver)
    assert (event.actor, event.actor_name) == (administrator, "API token “Okta” (Olivia Grant)")


# --- what a suspension does ------------------------------------------------------------


def test_sign_in_is_refused_with_the_message_an_inactive_account_gets(
    client, administrator, leaver
):
    gone = UserFactory(username="gone", is_active=False)
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    url = reverse("login")
    refused = client.post(url, {"username": "sam.okafor", "password": TEST_PASSWORD})
    inactive = client.post(url, {"username": gone.username, "password": TEST_PASSWORD})
    assert refused.status_code == inactive.status_code == 200
    assert refused.context["form"].errors == inactive.context["form"].errors
    assert refused.context["form"].non_field_errors().as_data()[0].code == "invalid_login"
    assert "_auth_user_id" not in client.session
    assert authenticate(username="sam.okafor", password=TEST_PASSWORD) is None

    user_sign_in_restore(user=leaver, acting_user=administrator)
    client.post(url, {"username": "sam.okafor", "password": TEST_PASSWORD})
    assert client.session["_auth_user_id"] == str(leaver.pk)


def test_an_open_session_stops_on_its_next_request(client, administrator, leaver):
    client.post(reverse("login"), {"username": "sam.okafor", "password": TEST_PASSWORD})
    assert client.get(reverse("clients:client_list")).status_code == 200
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    response = client.get(reverse("clients:client_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_nothing_and_old_links_stop_working(client, administrator, leaver):
    reset = reverse("password_reset")
    # An active account gets its link.
    client.post(reset, {"email": leaver.email})
    assert len(mail.outbox) == 1
    token = password_reset_token_generator.make_token(leaver)
    assert password_reset_token_generator.check_token(leaver, token)

    user_sign_in_suspend(user=leaver, acting_user=administrator)
    leaver.refresh_from_db()
    gone = UserFactory(is_active=False)
    suspended = client.post(reset, {"email": leaver.email})
    inactive = client.post(reset, {"email": gone.email})
    # The same answer as for an inactive account, and no e-mail.
    assert suspended.status_code == inactive.status_code == 302
    assert suspended.url == inactive.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    assert not password_reset_token_generator.check_token(leaver, token)


def test_api_tokens_hook(administrator, leaver):
    assert user_may_act(leaver)
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    assert not user_may_act(leaver)
    assert not user_may_act(UserFactory(is_active=False))


# --- receiving records -------------------------------------------------------------------


def test_a_suspended_user_is_not_eligible_and_is_refused_everywhere(administrator, leaver):
    colleague = OwnerFactory(username="grace.kim", first_name="Grace", last_name="Kim")
    user_sign_in_suspend(user=colleague, acting_user=administrator)
    colleague.refresh_from_db()
    assert not eligible_owners().filter(pk=colleague.pk).exists()
    assert not user_is_eligible_owner(colleague)

    with pytest.raises(TransferRefused) as refused:
        records_transfer_all(acting_user=administrator, old_user=leaver, new_user=colleague)
    assert refused.value.code == "new_user_suspended"
    assert refused.value.message == (
        "Grace Kim's sign-in is suspended, so they cannot be given records."
    )
    client = Client.objects.get(owner=leaver)
    with pytest.raises(TransferRefused) as refused:
        records_transfer_per_client(
            acting_user=administrator, old_user=leaver, assignments={client.pk: colleague}
        )
    assert (refused.value.code, refused.value.client_ids) == ("new_user_suspended", [client.pk])
    with pytest.raises(ValidationError) as refused:
        record_owner_change(acting_user=administrator, record=client, new_owner=colleague)
    assert refused.value.error_dict["owner"][0].code == "owner_suspended"
    with pytest.raises(ValidationError) as refused:
        client_create(acting_user=administrator, owner=colleague, number="C-S1", name="S")
    assert refused.value.error_dict["owner"][0].code == "owner_suspended"
    assert not Client.objects.filter(owner=colleague).exists()


def test_a_suspended_leaver_is_transferred_and_deactivated(administrator, leaver):
    user_sign_in_suspend(user=leaver, acting_user=administrator, reason="Left")
    grace = OwnerFactory()
    result = records_transfer_all(
        acting_user=administrator, old_user=leaver, new_user=grace, deactivate_old_user=True
    )
    leaver.refresh_from_db()
    assert not leaver.is_active
    # The suspension stays recorded; the state shown is Inactive.
    assert leaver.sign_in_suspended_at is not None
    assert with_account_state(User.objects.filter(pk=leaver.pk)).get().account_state == "inactive"
    assert not leavers().filter(pk=leaver.pk).exists()
    # A revert would give the records back to a suspended user: refused until restored.
    refusal = transfer_revert_refusal(transfer=result.transfer)
    assert refusal is not None and refusal.code == "revert_conflict"
    assert "Sam Okafor's sign-in is suspended" in refusal.message
    with pytest.raises(TransferRefused):
        transfer_revert(acting_user=administrator, transfer=result.transfer)
    assert not Client.objects.filter(owner=leaver).exists()
    user_sign_in_restore(user=leaver, acting_user=administrator)
    transfer_revert(acting_user=administrator, transfer=result.transfer)
    leaver.refresh_from_db()
    assert leaver.is_active and Client.objects.filter(owner=leaver).count() == 1


# --- the leavers -------------------------------------------------------------------------


def test_states_and_leavers(administrator, leaver):
    idle = OwnerFactory(username="idle")
    gone = UserFactory(username="gone", is_active=False)
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    user_sign_in_suspend(user=idle, acting_user=administrator)
    states = dict(with_account_state(User.objects.all()).values_list("username", "account_state"))
    assert states["sam.okafor"] == states["idle"] == "suspended"
    assert states["gone"] == "inactive"
    assert states[administrator.username] == "active"
    # Only suspended users who still own records, with what they own.
    (listed,) = leavers()
    assert listed == leaver
    workload = RecordCounts.annotated(listed)
    assert (workload["client"], workload["matter"], workload["case"]) == (1, 1, 1)
    assert gone.pk not in set(leavers().values_list("pk", flat=True))


# --- who may own records ------------------------------------------------------------------


def test_superuser_status_alone_does_not_make_an_owner(group):
    system = UserFactory(username="site.admin", is_superuser=True, groups=[groups.ADMINISTRATORS])
    partner = UserFactory(username="partner", is_superuser=True, groups=[groups.ATTORNEYS])
    granted = UserFactory(username="granted", is_superuser=True)
    granted.user_permissions.add(group(groups.ATTORNEYS).permissions.get(codename="own_records"))
    eligible = set(eligible_owners().values_list("username", flat=True))
    assert "site.admin" not in eligible
    assert {"partner", "granted"} <= eligible
    system = User.objects.get(pk=system.pk)
    assert system.has_perm("users.own_records")  # Django's superuser shortcut...
    assert not user_is_eligible_owner(system)  # ...is not the rule
    assert user_is_eligible_owner(User.objects.get(pk=partner.pk))
    assert user_is_eligible_owner(User.objects.get(pk=granted.pk))
    with pytest.raises(ValidationError) as refused:
        client_create(acting_user=partner, owner=system, number="C-S2", name="S")
    assert refused.value.error_dict["owner"][0].code == "owner_ineligible"
    leaver = OwnerFactory()
    ClientFactory(owner=leaver)
    with pytest.raises(TransferRefused) as refused:
        records_transfer_all(acting_user=partner, old_user=leaver, new_user=system)
    assert refused.value.code == "new_user_ineligible"
    assert records_transfer_all(acting_user=partner, old_user=leaver, new_user=granted)


# --- the command --------------------------------------------------------------------------


def test_command_suspends_and_restores(administrator, leaver):
    out = StringIO()
    call_command(
        "user_suspend", "sam.okafor", "--by", administrator.username, "--reason", "Left", stdout=out
    )
    assert "Sam Okafor's sign-in was suspended." in out.getvalue()
    leaver.refresh_from_db()
    assert leaver.sign_in_suspension_reason == "Left"
    with pytest.raises(CommandError, match=r"Refused \(already_suspended\)"):
        call_command("user_suspend", "sam.okafor", "--by", administrator.username)
    call_command("user_suspend", "sam.okafor", "--by", administrator.username, "--restore")
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None


def test_command_refuses_bad_input(administrator, leaver, attorney):
    with pytest.raises(CommandError, match="Unknown user: no user with username 'nobody'"):
        call_command("user_suspend", "nobody", "--by", administrator.username)
    with pytest.raises(CommandError, match=r"Unknown actor \(--by\)"):
        call_command("user_suspend", "sam.okafor", "--by", "nobody")
    with pytest.raises(CommandError, match="is not allowed to suspend"):
        call_command("user_suspend", "sam.okafor", "--by", attorney.username)
    with pytest.raises(CommandError, match="--reason goes with a suspension"):
        call_command(
            "user_suspend",
            "sam.okafor",
            "--by",
            administrator.username,
            "--restore",
            "--reason",
            "x",
        )
    leaver.refresh_from_db()
    assert leaver.sign_in_suspended_at is None
    assert not AccountEvent.objects.filter(user=leaver).exists()


def test_restoring_does_not_revive_the_old_session(client, administrator, leaver):
    client.post(reverse("login"), {"username": "sam.okafor", "password": TEST_PASSWORD})
    user_sign_in_suspend(user=leaver, acting_user=administrator)
    client.get(reverse("clients:client_list"))
    user_sign_in_restore(user=leaver, acting_user=administrator)
    response = client.get(reverse("clients:client_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_ensure_admin_restores_a_suspended_administrator(administrator):
    UserFactory(is_superuser=True)  # so the other one may be suspended
    root = UserFactory(username="admin", is_superuser=True)
    user_sign_in_suspend(user=root, acting_user=administrator)
    call_command("ensure_admin", stdout=StringIO())
    root.refresh_from_db()
    assert root.sign_in_suspended_at is None and user_may_act(root)
    restored = AccountEvent.objects.get(user=root, kind=AccountEvent.Kind.SIGN_IN_RESTORED)
    assert restored.actor is None
