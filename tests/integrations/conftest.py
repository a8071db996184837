import pytest

from integrations.tokens.services import api_token_create
from tests.helpers import default_groups_restore as firm_groups_restore


@pytest.fixture
def scim_token(administrator):
    token, secret = api_token_create(name="Okta", scope="scim", acting_user=administrator)
    token.secret = secret
    return token


@pytest.fixture
def scim(client, scim_token):
    """`scim(method, path, json=None)`: a request to /scim/v2/ with the SCIM token."""

    def call(method, path, json=None, token=None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token or scim_token.secret}"}
        if json is not None:
            kwargs["data"] = json
            kwargs["content_type"] = "application/scim+json"
        return getattr(client, method.lower())(f"/scim/v2/{path}", **kwargs)

    return call


def default_groups_restore():
    """Transactional tests flush the database, groups included: put the firm's
    groups and the administrators' token permissions back."""
    import importlib

    from django.apps import apps

    firm_groups_restore()
    importlib.import_module("integrations.migrations.0002_administrators_manage_api_tokens").grant(
        apps, None
    )
