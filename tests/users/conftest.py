import pytest
from django.test import Client as HttpClient

from clients.demo import bulk_users_ensure
from users import groups


@pytest.fixture
def csrf_client(administrator):
    """A client that enforces CSRF checks, as a browser request would meet them."""
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(administrator)
    return http


@pytest.fixture
def many_users(db):
    """`count` users (every tenth inactive), attorneys and managers in turn, made in bulk."""

    def create(count=2000):
        usernames = [f"bulk{i:05d}" for i in range(count)]
        return bulk_users_ensure(usernames, [groups.ATTORNEYS, groups.MANAGERS], inactive_every=10)

    return create
