import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from clients.models import Client
from tests.factories import ClientFactory, OwnerFactory, UserFactory
from users import groups
from users.selectors import eligible_owners, user_is_eligible_owner, with_workload
from users.services import user_set_active

pytestmark = pytest.mark.django_db


def test_full_name_falls_back_to_username():
    assert UserFactory(username="jdoe", first_name="", last_name="").full_name == "jdoe"
    assert str(UserFactory(first_name="Dana", last_name="Reyes")) == "Dana Reyes"


@pytest.mark.parametrize(
    ("group_names", "active", "eligible"),
    [
        ([groups.ATTORNEYS], True, True),
        ([groups.PARALEGALS], True, True),
        ([groups.MANAGERS], True, False),
        ([groups.ADMINISTRATORS], True, False),
        ([], True, False),
        ([groups.ATTORNEYS], False, False),
    ],
)
def test_eligibility_follows_groups_and_active_state(group_names, active, eligible):
    user = UserFactory(groups=group_names, is_active=active)
    assert user_is_eligible_owner(user) is eligible
    assert eligible_owners().filter(pk=user.pk).exists() is eligible


def test_eligible_owners_is_one_query_without_duplicates(django_assert_num_queries):
    user = UserFactory(groups=[groups.ATTORNEYS, groups.PARALEGALS])
    with django_assert_num_queries(1):
        assert list(eligible_owners().filter(pk=user.pk)) == [user]


def test_inactive_owner_is_refused_by_model_validation():
    owner = OwnerFactory(is_active=False)
    client = ClientFactory.build(owner=owner)
    with pytest.raises(ValidationError) as excinfo:
        client.full_clean()
    assert excinfo.value.error_dict["owner"][0].code == "owner_inactive"


def test_ineligible_owner_is_refused_by_model_validation():
    client = ClientFactory.build(owner=UserFactory(groups=[groups.MANAGERS]))
    with pytest.raises(ValidationError) as excinfo:
        client.full_clean()
    assert excinfo.value.error_dict["owner"][0].code == "owner_ineligible"


def test_unchanged_owner_does_not_block_editing_other_fields():
    client = ClientFactory()
    client.owner.groups.clear()
    client.name = "Renamed"
    client.full_clean()


def test_user_who_owns_records_cannot_be_deleted():
    client = ClientFactory()
    with pytest.raises(ProtectedError):
        client.owner.delete()
    assert Client.objects.filter(pk=client.pk).exists()


def test_workload_is_counted_in_the_database(django_assert_num_queries):
    client = ClientFactory()
    OwnerFactory()
    with django_assert_num_queries(1):
        rows = {u.pk: u for u in with_workload(eligible_owners())}
    assert rows[client.owner.pk].client_count == 1
    assert rows[client.owner.pk].matter_count == 0


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
