import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient

from users import groups
from users.models import User


@pytest.fixture
def csrf_client(administrator):
    """A client that enforces CSRF checks, as a browser request would meet them."""
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(administrator)
    return http


@pytest.fixture
def many_users(db):
    """2,000 users (every tenth inactive), half attorneys, created in bulk."""

    def create(count=2000):
        users = User.objects.bulk_create(
            [
                User(
                    username=f"bulk{i:05d}",
                    first_name=f"First{i:05d}",
                    last_name="Bulk",
                    email=f"bulk{i:05d}@example.com",
                    is_active=i % 10 != 0,
                )
                for i in range(count)
            ],
            batch_size=500,
        )
        users = list(User.objects.filter(username__startswith="bulk"))
        attorneys = Group.objects.get(name=groups.ATTORNEYS)
        managers = Group.objects.get(name=groups.MANAGERS)
        through = User.groups.through
        through.objects.bulk_create(
            [through(user_id=u.pk, group_id=attorneys.pk) for u in users[::2]]
            + [through(user_id=u.pk, group_id=managers.pk) for u in users[::3]],
            batch_size=500,
        )
        return users

    return create
