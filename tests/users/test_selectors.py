"""The users selectors: who may own records, and their workload."""

import pytest

from clients.record_types import RecordCounts
from tests.factories import ClientFactory, OwnerFactory, UserFactory
from users import groups
from users.selectors import eligible_owners, user_is_eligible_owner, with_workload

pytestmark = pytest.mark.django_db


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


def test_workload_is_counted_in_the_database(django_assert_num_queries):
    client = ClientFactory()
    OwnerFactory()
    with django_assert_num_queries(1):
        rows = {u.pk: u for u in with_workload(eligible_owners())}
    workload = RecordCounts.annotated(rows[client.owner.pk])
    assert (workload["client"], workload["matter"]) == (1, 0)
