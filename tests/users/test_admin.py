"""The users admin: a user who owns records is not deleted, alone or in bulk."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.urls import reverse

from tests.factories import CaseFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


def test_admin_refuses_deleting_a_user_who_owns_records(admin_client):
    case = CaseFactory()
    owner = case.owner
    response = admin_client.post(
        reverse("admin:users_user_delete", args=[owner.pk]), {"post": "yes"}, follow=True
    )
    assert User.objects.filter(pk=owner.pk).exists()
    assert "Transfer them first" in response.content.decode()


def test_admin_bulk_delete_keeps_users_who_own_records(rf, admin_user):
    owner = CaseFactory().owner
    idle = UserFactory()
    request = rf.post("/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    admin.site._registry[User].delete_queryset(
        request, User.objects.filter(pk__in=[owner.pk, idle.pk])
    )
    assert User.objects.filter(pk=owner.pk).exists()
    assert not User.objects.filter(pk=idle.pk).exists()
    assert any("Transfer them first" in str(m) for m in get_messages(request))
