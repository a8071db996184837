"""The access rule as a table: owner / share / model permission / none × view / change."""

import pytest

from clients.access import records_for_user, user_can_access_record
from clients.models import Case, Client, Deadline, Matter
from clients.record_types import RECORD_MODELS, SHARE_MODELS
from tests.conftest import record_permission
from tests.factories import CaseFactory, DeadlineFactory, UserFactory
from users import groups

pytestmark = pytest.mark.django_db


def _record(model):
    deadline = DeadlineFactory()
    case = deadline.case
    return {Client: case.client, Matter: case.matter, Case: case, Deadline: deadline}[model]


def _user_for(relation, model, record, shared_action):
    if relation == "owner":
        return record.owner
    user = UserFactory(groups=[groups.PARALEGALS])
    if relation == "share":
        SHARE_MODELS[model][0].objects.create(
            content_object=record, user=user, permission=record_permission(model, shared_action)
        )
    elif relation == "group_share":
        group = user.groups.get()
        SHARE_MODELS[model][1].objects.create(
            content_object=record, group=group, permission=record_permission(model, shared_action)
        )
    elif relation == "model_permission":
        user.user_permissions.add(record_permission(model, shared_action))
    return user


CASES = [
    # relation, what was granted, action asked, expected
    ("owner", None, "view", True),
    ("owner", None, "change", True),
    ("share", "view", "view", True),
    ("share", "view", "change", False),
    ("share", "change", "change", True),
    ("group_share", "view", "view", True),
    ("group_share", "view", "change", False),
    ("model_permission", "view", "view", True),
    ("model_permission", "view", "change", False),
    ("model_permission", "change", "change", True),
    ("none", None, "view", False),
    ("none", None, "change", False),
]


@pytest.mark.parametrize("model", RECORD_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize(("relation", "granted", "action", "expected"), CASES)
def test_access_rule(model, relation, granted, action, expected):
    record = _record(model)
    user = _user_for(relation, model, record, granted)
    perm = f"clients.{action}_{model._meta.model_name}"

    assert user.has_perm(perm, record) is expected
    assert user_can_access_record(user, record, action) is expected
    assert records_for_user(user, model, action).filter(pk=record.pk).exists() is expected


def test_inactive_owner_sees_nothing():
    case = CaseFactory()
    owner = case.owner
    owner.is_active = False
    owner.save()
    assert not owner.has_perm("clients.view_case", case)
    assert not records_for_user(owner, Case).exists()


def test_managers_see_every_record_but_change_none():
    CaseFactory.create_batch(3)
    manager = UserFactory(groups=[groups.MANAGERS])
    assert records_for_user(manager, Case).count() == 3
    assert records_for_user(manager, Case, "change").count() == 0


def test_visible_records_take_two_queries_whatever_the_size(django_assert_num_queries):
    """The user's shared ids, then the records: whatever the number of records."""
    user = UserFactory(groups=[groups.PARALEGALS])
    CaseFactory.create_batch(5)
    records_for_user(user, Case)  # warms the permission cache
    with django_assert_num_queries(2):
        list(records_for_user(user, Case))
