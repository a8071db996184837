"""The users services: deactivation and its refusals, and what every change leaves in
the account history."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError

from tests.factories import ClientFactory, OwnerFactory, UserFactory
from users import groups
from users.models import AccountEvent, User
from users.services import (
    group_delete,
    group_permissions_update,
    user_access_update,
    user_create,
    user_delete_record,
    user_set_active,
    user_sign_in_restore,
    user_sign_in_suspend,
    user_update,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["deactivate_self", "last_superuser", "owns_records"])
def test_deactivation_refusals(code):
    admin = UserFactory(is_superuser=True)
    if code == "deactivate_self":
        target, actor = admin, admin
    elif code == "last_superuser":
        target, actor = admin, UserFactory(groups=[groups.ADMINISTRATORS])
    else:
        target, actor = ClientFactory().owner, admin
    with pytest.raises(ValidationError) as excinfo:
        user_set_active(user=target, is_active=False, acting_user=actor)
    assert excinfo.value.code == code
    if code != "deactivate_self":
        assert target.full_name in excinfo.value.messages[0]
    target.refresh_from_db()
    assert target.is_active


def test_deactivation_and_reactivation():
    actor = UserFactory(is_superuser=True)
    user = OwnerFactory()
    user_set_active(user=user, is_active=False, acting_user=actor)
    user.refresh_from_db()
    assert not user.is_active
    user_set_active(user=user, is_active=True, acting_user=actor)
    user.refresh_from_db()
    assert user.is_active


@pytest.mark.parametrize(
    ("flags", "detail"),
    [
        ({"is_superuser": True}, "Superuser given"),
        ({"is_staff": True}, "Staff access given"),
        ({"is_staff": True, "is_superuser": True}, "Staff access given; superuser given"),
    ],
)
def test_every_flag_change_is_written_in_the_account_history(flags, detail):
    """Making someone a superuser, or taking it away, is on the record with its actor."""
    actor = UserFactory(is_superuser=True)
    user = UserFactory()
    user_access_update(user=user, acting_user=actor, **flags)
    event = AccountEvent.objects.get(user=user, kind=AccountEvent.Kind.ACCESS_CHANGED)
    assert (event.detail, event.actor) == (detail, actor)

    user_access_update(user=user, acting_user=actor, **dict.fromkeys(flags, False))
    taken = AccountEvent.objects.filter(user=user, kind=AccountEvent.Kind.ACCESS_CHANGED)
    assert taken.latest("pk").detail == detail.replace("given", "removed")


# --- what each change leaves in the account history ---------------------------------


def permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def test_direct_permissions_are_listed_by_app_and_name_before_and_after():
    actor = UserFactory(is_superuser=True)
    user = UserFactory()
    names = ["clients.view_case", "auth.view_group", "clients.add_client"]

    updated = user_access_update(
        user=user,
        acting_user=actor,
        user_permissions=[permission(name) for name in names],
        is_superuser=True,
    )

    assert updated.is_superuser is True  # the caller's object, as stored
    event = AccountEvent.objects.get(user=user, kind=AccountEvent.Kind.ACCESS_CHANGED)
    assert event.detail == (
        "Superuser given; permissions: none → "
        "auth.view_group, clients.add_client, clients.view_case"
    )
    user_access_update(user=user, acting_user=actor, user_permissions=[permission(names[0])])
    assert AccountEvent.objects.filter(user=user).latest("pk").detail == (
        "Permissions: auth.view_group, clients.add_client, clients.view_case → clients.view_case"
    )


def test_a_change_made_through_a_token_names_it_as_the_actor():
    """An API token acts for the administrator who created it: both are on record."""
    actor = UserFactory(is_superuser=True)
    user = OwnerFactory()
    token = "SCIM token of Olivia Grant"
    user_access_update(
        user=user,
        acting_user=actor,
        groups=[Group.objects.get(name=groups.PARALEGALS)],
        is_staff=True,
        actor_name=token,
    )
    user_update(
        user=user,
        acting_user=actor,
        first_name="Sam",
        last_name="Other",
        email="sam@example.com",
        groups=[Group.objects.get(name=groups.ATTORNEYS)],
        is_active=False,
        actor_name=token,
    )
    events = AccountEvent.objects.filter(user=user).order_by("pk")
    assert [(event.kind, event.actor, event.actor_name) for event in events] == [
        (AccountEvent.Kind.GROUPS_CHANGED, actor, token),
        (AccountEvent.Kind.ACCESS_CHANGED, actor, token),
        (AccountEvent.Kind.GROUPS_CHANGED, actor, token),
        (AccountEvent.Kind.DEACTIVATED, actor, token),
    ]


def test_saving_a_users_details_keeps_what_changed_since_the_form_was_read():
    actor = UserFactory(is_superuser=True)
    user = OwnerFactory()
    read_by_the_form = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).update(is_staff=True)  # another administrator, meanwhile

    user_update(
        user=read_by_the_form,
        acting_user=actor,
        first_name="Sam",
        last_name="Other",
        email="sam@example.com",
        groups=[Group.objects.get(name=groups.ATTORNEYS)],
    )
    user.refresh_from_db()
    assert (user.full_name, user.email, user.is_staff) == ("Sam Other", "sam@example.com", True)


def test_a_user_created_without_names_or_groups_has_none_and_with_groups_lists_them():
    actor = UserFactory(is_superuser=True)
    bare = user_create(username="bare", password="a long enough password", acting_user=actor)
    assert (bare.first_name, bare.last_name) == ("", "")
    assert AccountEvent.objects.get(user=bare).detail == ""

    grouped = user_create(
        username="grouped",
        password="a long enough password",
        groups=Group.objects.filter(name__in=[groups.PARALEGALS, groups.ATTORNEYS]),
        acting_user=actor,
    )
    assert AccountEvent.objects.get(user=grouped).detail == "Groups: Attorneys, Paralegals"


def test_a_suspension_without_a_reason_records_none_and_a_restore_clears_it():
    actor = UserFactory(is_superuser=True)
    user = OwnerFactory()
    suspended = user_sign_in_suspend(user=user, acting_user=actor)
    assert suspended.sign_in_suspension_reason == ""
    assert User.objects.get(pk=user.pk).sign_in_suspension_reason == ""
    assert AccountEvent.objects.get(user=user).detail == ""

    restored = user_sign_in_restore(user=user, acting_user=actor)
    assert (restored.sign_in_suspended_at, restored.sign_in_suspension_reason) == (None, "")
    stored = User.objects.get(pk=user.pk)
    assert (stored.sign_in_suspended_at, stored.sign_in_suspension_reason) == (None, "")
    with pytest.raises(ValidationError) as refused:
        user_sign_in_restore(user=user, acting_user=actor)
    assert refused.value.code == "not_suspended"
    assert user.full_name in refused.value.messages[0]


def test_a_deletion_names_who_deleted():
    actor = UserFactory(is_superuser=True)
    user = UserFactory()
    user_delete_record(user=user, acting_user=actor)
    event = AccountEvent.objects.get(user=user, kind=AccountEvent.Kind.DELETED)
    assert (event.user_name, event.actor, event.actor_name) == (
        user.full_name,
        actor,
        actor.full_name,
    )


def test_a_change_made_by_the_system_names_no_actor():
    user = OwnerFactory()
    user_set_active(user=user, is_active=False, acting_user=None)
    event = AccountEvent.objects.get(user=user)
    assert (event.kind, event.actor, event.actor_name) == (AccountEvent.Kind.DEACTIVATED, None, "")


def test_losing_the_permission_to_own_names_the_owner():
    actor = UserFactory(is_superuser=True)
    owner = ClientFactory().owner
    with pytest.raises(ValidationError) as refused:
        user_access_update(user=owner, acting_user=actor, groups=[])
    assert refused.value.code == "owner_permission_removed"
    assert owner.full_name in refused.value.messages[0]


def test_a_group_change_names_every_owner_who_would_lose_and_lists_every_change():
    actor = UserFactory(is_superuser=True)
    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    first, second = ClientFactory().owner, ClientFactory().owner
    kept = [p for p in attorneys.permissions.all() if p.codename != "own_records"]

    with pytest.raises(ValidationError) as refused:
        group_permissions_update(group=attorneys, permissions=kept, acting_user=actor)
    message = refused.value.messages[0]
    assert f"{first.full_name}, {second.full_name}" in message or (
        f"{second.full_name}, {first.full_name}" in message
    )

    member = UserFactory(groups=[groups.PARALEGALS])
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    given = [permission("users.transfer_records"), permission("transfers.view_transfer")]
    group_permissions_update(
        group=paralegals, permissions=[*paralegals.permissions.all(), *given], acting_user=actor
    )
    assert AccountEvent.objects.get(user=member).detail == (
        'Through group "Paralegals": transfers.view_transfer given; users.transfer_records given'
    )


def test_a_group_change_reads_the_permissions_in_a_fixed_number_of_queries(
    django_assert_max_num_queries,
):
    actor = UserFactory(is_superuser=True)
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    every = list(Permission.objects.all())
    assert len(every) > 40
    with django_assert_max_num_queries(20):
        group_permissions_update(group=paralegals, permissions=every, acting_user=actor)


def test_a_deleted_group_leaves_each_member_the_groups_they_keep_and_what_it_took():
    actor = UserFactory(is_superuser=True)
    member = UserFactory(groups=[groups.PARALEGALS, groups.MANAGERS])
    paralegals = Group.objects.get(name=groups.PARALEGALS)
    paralegals.permissions.add(permission("users.transfer_records"))

    group_delete(group=paralegals, acting_user=actor)

    event = AccountEvent.objects.get(user=member, kind=AccountEvent.Kind.GROUPS_CHANGED)
    assert event.detail == (
        'Group "Paralegals" deleted. Groups: Managers, Paralegals → Managers; '
        "removed with it: users.own_records, users.transfer_records"
    )
