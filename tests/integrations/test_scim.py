"""The identity provider's door: discovery, users, groups, deprovisioning as
Okta and Entra send it, and SCIM's error format."""

import pytest
from django.contrib.auth.models import Group

from clients.models import Case, Client, Matter
from integrations.models import ScimIdentity
from integrations.tokens.services import api_token_create, token_creator_may_act
from tests.factories import CaseFactory, OwnerFactory, UserFactory
from users import groups
from users import services as users_services
from users.models import AccountEvent, User
from users.selectors import eligible_owners

pytestmark = pytest.mark.django_db

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Okta deactivates (or unassigns) a user with a path-less replace carrying a
# boolean. Source: Okta Developer, "SCIM 2.0 protocol reference", Update a
# specific User (PATCH), the deactivation example.
OKTA_DEACTIVATE = {
    "schemas": [PATCH_OP],
    "Operations": [{"op": "replace", "value": {"active": False}}],
}
# Entra ID disables a user with "Replace" and the string "False" (unless the
# tenant sets the aadOptscim062020 flag). Source: Microsoft Learn, "Tutorial:
# Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
# User Operations, "Disable user".
ENTRA_DISABLE = {
    "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    "schemas": [PATCH_OP],
}
# Entra ID's create request. Source: the same tutorial, "Create User".
ENTRA_CREATE = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName",
    },
    "roles": [],
}


@pytest.fixture
def leaver(db):
    """Dana owns a client, a matter and a case."""
    dana = OwnerFactory(username="dana.reyes", first_name="Dana", last_name="Reyes")
    case = CaseFactory(matter__client__owner=dana, matter__owner=dana, owner=dana)
    return dana, case


def owned_by(user):
    return {
        model.__name__: set(model.objects.filter(owner=user).values_list("pk", flat=True))
        for model in (Client, Matter, Case)
    }


def assert_scim_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == str(status)
    return body


# --- discovery --------------------------------------------------------------------


def test_discovery_endpoints(scim):
    config = scim("GET", "ServiceProviderConfig").json()
    assert config["patch"] == {"supported": True} and config["bulk"]["supported"] is False
    types = scim("GET", "ResourceTypes").json()
    assert {item["id"] for item in types["Resources"]} == {"User", "Group"}
    schemas = scim("GET", "Schemas").json()
    user_schema = next(s for s in schemas["Resources"] if s["name"] == "User")
    assert {a["name"] for a in user_schema["attributes"]} == {
        "userName",
        "name",
        "displayName",
        "emails",
        "active",
        "groups",
        "password",
    }
    assert scim("GET", "Schemas/urn:ietf:params:scim:schemas:core:2.0:Group").json()["name"] == (
        "Group"
    )
    assert_scim_error(scim("POST", "Schemas", json={}), 405)
    assert_scim_error(scim("GET", "Nothing/here"), 404)


# --- users ----------------------------------------------------------------------------


def test_create_with_groups_makes_an_eligible_recipient_at_once(scim, administrator):
    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    response = scim(
        "POST",
        "Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "nina.new",
            "name": {"givenName": "Nina", "familyName": "New"},
            "emails": [{"value": "nina@firm.example", "primary": True, "type": "work"}],
            "groups": [{"value": str(attorneys.pk)}],
            "externalId": "00u1abcd",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    nina = User.objects.get(username="nina.new")
    assert response["Location"].endswith(f"/scim/v2/Users/{nina.pk}")
    assert body["active"] is True and body["externalId"] == "00u1abcd"
    assert body["groups"] == [{"value": str(attorneys.pk), "display": "Attorneys"}]
    assert (nina.first_name, nina.last_name, nina.email) == ("Nina", "New", "nina@firm.example")
    assert not nina.has_usable_password()
    assert eligible_owners().filter(pk=nina.pk).exists()
    event = AccountEvent.objects.get(user=nina, kind=AccountEvent.Kind.CREATED)
    assert event.actor == administrator
    assert event.actor_name == "API token “Okta” (Olivia Grant)"
    assert event.detail == "Groups: Attorneys"

    duplicate = scim("POST", "Users", json={"userName": "NINA.new", "schemas": body["schemas"]})
    assert assert_scim_error(duplicate, 409)["scimType"] == "uniqueness"
    unknown_group = scim(
        "POST",
        "Users",
        json={"userName": "x", "schemas": body["schemas"], "groups": [{"value": "Partners"}]},
    )
    assert_scim_error(unknown_group, 400)
    assert not User.objects.filter(username="x").exists()


def test_entra_create_request_is_accepted(scim):
    response = scim("POST", "Users", json=ENTRA_CREATE)
    assert response.status_code == 201, response.content
    user = User.objects.get(username=ENTRA_CREATE["userName"])
    assert (user.first_name, user.last_name) == ("givenName", "familyName")
    assert user.email == "Test_User_fd0ea19b@testuser.com"
    assert ScimIdentity.objects.get(user=user).external_id == ENTRA_CREATE["externalId"]


def test_list_filter_and_paging(scim, administrator):
    for index in range(5):
        UserFactory(username=f"person.{index}")
    response = scim("GET", 'Users?filter=userName eq "PERSON.3"')
    body = response.json()
    assert body["totalResults"] == 1
    assert body["Resources"][0]["userName"] == "person.3"
    assert scim("GET", 'Users?filter=userName eq "nobody"').json()["totalResults"] == 0

    page = scim("GET", "Users?startIndex=2&count=2").json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (6, 2, 2)
    everyone = [u["userName"] for u in scim("GET", "Users?count=100").json()["Resources"]]
    assert [u["userName"] for u in page["Resources"]] == everyone[1:3]

    bad = scim("GET", 'Users?filter=title sw "x"')
    assert assert_scim_error(bad, 400)["scimType"] == "invalidFilter"


def test_get_replace_and_patch(scim, administrator):
    lena = UserFactory(
        username="lena.ortiz", first_name="Lena", last_name="Ortiz", groups=[groups.PARALEGALS]
    )
    got = scim("GET", f"Users/{lena.pk}").json()
    assert got["userName"] == "lena.ortiz" and got["displayName"] == "Lena Ortiz"
    assert_scim_error(scim("GET", "Users/999999"), 404)

    replaced = scim(
        "PUT",
        f"Users/{lena.pk}",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "lena.ortiz",
            "name": {"givenName": "Lena", "familyName": "Marsh"},
            "emails": [{"value": "lena@firm.example"}],
            "active": True,
        },
    )
    assert replaced.status_code == 200, replaced.content
    lena.refresh_from_db()
    assert (lena.last_name, lena.email, lena.is_active) == ("Marsh", "lena@firm.example", True)

    # Entra's forms: a filtered e-mail path and a sub-attribute path.
    patched = scim(
        "PATCH",
        f"Users/{lena.pk}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "l.m@firm.example",
                },
                {"op": "Replace", "path": "name.givenName", "value": "Helena"},
            ],
        },
    )
    assert patched.status_code == 200, patched.content
    lena.refresh_from_db()
    assert (lena.first_name, lena.email) == ("Helena", "l.m@firm.example")
    assert patched.json()["emails"] == [{"value": "l.m@firm.example"}]


@pytest.mark.parametrize("payload", [OKTA_DEACTIVATE, ENTRA_DISABLE], ids=["okta", "entra"])
def test_deprovisioning_a_user_who_owns_nothing_deactivates(scim, administrator, payload):
    lena = UserFactory(username="lena.ortiz", groups=[groups.PARALEGALS])
    response = scim("PATCH", f"Users/{lena.pk}", json=payload)
    assert response.status_code == 200, response.content
    assert response.json()["active"] is False
    lena.refresh_from_db()
    assert not lena.is_active
    event = AccountEvent.objects.get(user=lena, kind=AccountEvent.Kind.DEACTIVATED)
    assert (event.actor, event.actor_name) == (administrator, "API token “Okta” (Olivia Grant)")
    # Okta's test suite reads the user back after deactivating it.
    assert scim("GET", f"Users/{lena.pk}").json()["active"] is False
    # Sent again (identity providers retry): still 200, nothing new recorded.
    assert scim("PATCH", f"Users/{lena.pk}", json=payload).status_code == 200
    assert AccountEvent.objects.filter(user=lena).count() == 1

    restored = scim(
        "PATCH",
        f"Users/{lena.pk}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": True}],
        },
    )
    assert restored.json()["active"] is True
    lena.refresh_from_db()
    assert lena.is_active
    assert AccountEvent.objects.get(user=lena, kind=AccountEvent.Kind.REACTIVATED).actor_name == (
        "API token “Okta” (Olivia Grant)"
    )


@pytest.mark.parametrize("payload", [OKTA_DEACTIVATE, ENTRA_DISABLE], ids=["okta", "entra"])
def test_vendor_deprovisioning_of_a_user_who_owns_records_suspends(scim, leaver, payload):
    dana, _case = leaver
    before = owned_by(dana)
    response = scim("PATCH", f"Users/{dana.pk}", json=payload)
    assert 200 <= response.status_code < 300, response.content
    assert response.json()["active"] is False
    dana.refresh_from_db()
    assert dana.is_active  # suspended, not deactivated: the rulebook keeps owners active
    assert not token_creator_may_act(dana)  # users.selectors.user_may_act: suspended
    assert owned_by(dana) == before
    assert User.objects.filter(pk=dana.pk).exists()
    restored = scim(
        "PATCH",
        f"Users/{dana.pk}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": True}],
        },
    )
    dana.refresh_from_db()
    assert restored.json()["active"] is True and token_creator_may_act(dana)


def test_entra_hard_delete_of_an_owner_suspends_and_hides(scim, leaver):
    dana, _case = leaver
    before = owned_by(dana)
    response = scim("DELETE", f"Users/{dana.pk}")
    assert response.status_code == 204
    assert_scim_error(scim("GET", f"Users/{dana.pk}"), 404)
    assert owned_by(dana) == before
    assert AccountEvent.objects.filter(user=dana).exists()


def test_delete_never_deletes(scim, administrator):
    lena = UserFactory(username="lena.ortiz", groups=[groups.PARALEGALS])
    response = scim("DELETE", f"Users/{lena.pk}")
    assert response.status_code == 204
    assert_scim_error(scim("GET", f"Users/{lena.pk}"), 404)
    assert scim("GET", 'Users?filter=userName eq "lena.ortiz"').json()["totalResults"] == 0
    lena.refresh_from_db()  # the row stays, with its history
    assert not lena.is_active
    assert AccountEvent.objects.filter(user=lena, kind=AccountEvent.Kind.DEACTIVATED).exists()
    assert_scim_error(scim("DELETE", f"Users/{lena.pk}"), 404)

    # Created again under the same userName (a rehire): the same account returns.
    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    again = scim(
        "POST",
        "Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "lena.ortiz",
            "name": {"givenName": "Lena", "familyName": "Ortiz"},
            "groups": [{"value": "Attorneys"}],
        },
    )
    assert again.status_code == 201, again.content
    assert again.json()["id"] == str(lena.pk) and again.json()["active"] is True
    lena.refresh_from_db()
    assert lena.is_active and list(lena.groups.all()) == [attorneys]
    assert scim("GET", f"Users/{lena.pk}").status_code == 200


def test_deprovisioning_the_tokens_own_creator_is_refused_with_the_rulebooks_message(
    scim, administrator
):
    response = scim("PATCH", f"Users/{administrator.pk}", json=OKTA_DEACTIVATE)
    body = assert_scim_error(response, 409)
    assert "your own account" in body["detail"]
    administrator.refresh_from_db()
    assert administrator.is_active


# --- groups ------------------------------------------------------------------------------


def test_groups_list_get_and_membership_patch(scim, administrator, leaver):
    dana, _case = leaver
    lena = UserFactory(username="lena.ortiz")
    attorneys = Group.objects.get(name=groups.ATTORNEYS)
    listed = scim("GET", "Groups").json()
    assert [g["displayName"] for g in listed["Resources"]] == [
        "Administrators",
        "Managers",
        "Attorneys",
        "Paralegals",
    ]
    found = scim("GET", 'Groups?filter=displayName eq "Attorneys"').json()
    assert [g["id"] for g in found["Resources"]] == [str(attorneys.pk)]

    # Okta adds members with an add operation on members.
    added = scim(
        "PATCH",
        f"Groups/{attorneys.pk}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": str(lena.pk)}]}],
        },
    )
    assert added.status_code == 200, added.content
    assert eligible_owners().filter(pk=lena.pk).exists()
    assert {m["value"] for m in scim("GET", f"Groups/{attorneys.pk}").json()["members"]} >= {
        str(lena.pk)
    }
    # Entra removes a member with a remove carrying the value.
    removed = scim(
        "PATCH",
        f"Groups/{attorneys.pk}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": str(lena.pk)}]}],
        },
    )
    assert removed.status_code == 200, removed.content
    assert not lena.groups.filter(pk=attorneys.pk).exists()
    event = AccountEvent.objects.filter(user=lena, kind=AccountEvent.Kind.GROUPS_CHANGED).first()
    assert event.actor_name == "API token “Okta” (Olivia Grant)"

    # Taking the permission to own from an owner is refused, nothing changed.
    dana.groups.set([attorneys])
    refused = scim(
        "PATCH",
        f"Groups/{attorneys.pk}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "remove", "path": f'members[value eq "{dana.pk}"]'}],
        },
    )
    assert "must stay allowed to own them" in assert_scim_error(refused, 409)["detail"]
    assert dana.groups.filter(pk=attorneys.pk).exists()
    # A member the identity provider deleted is not in its lists, and a
    # membership patch leaves their groups alone.
    lena.groups.set([attorneys])
    assert scim("DELETE", f"Users/{lena.pk}").status_code == 204
    replaced = scim(
        "PUT",
        f"Groups/{attorneys.pk}",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Attorneys",
            "members": [{"value": str(dana.pk)}],
        },
    )
    assert replaced.status_code == 200, replaced.content
    assert [m["value"] for m in replaced.json()["members"]] == [str(dana.pk)]
    assert lena.groups.filter(pk=attorneys.pk).exists()
    assert_scim_error(scim("POST", "Groups", json={"displayName": "Partners"}), 501)
    assert_scim_error(scim("DELETE", f"Groups/{attorneys.pk}"), 501)


# --- tokens ------------------------------------------------------------------------------


def test_missing_wrong_expired_and_revoked_tokens_get_401(scim, administrator, scim_token):
    from datetime import timedelta

    from django.utils import timezone

    from integrations.tokens.services import api_token_revoke

    for token in ("", "ce_not-a-token"):
        response = scim("GET", "Users", token=token) if token else None
        if response is None:
            from django.test import Client as HttpClient

            response = HttpClient().get("/scim/v2/Users")
        assert_scim_error(response, 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    expired, expired_secret = api_token_create(
        name="Old",
        scope="scim",
        acting_user=administrator,
        expires_at=timezone.now() + timedelta(seconds=1),
    )
    type(expired).objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    assert "expired" in assert_scim_error(scim("GET", "Users", token=expired_secret), 401)["detail"]

    assert scim("GET", "Users").status_code == 200
    api_token_revoke(token=scim_token, acting_user=administrator)
    assert "revoked" in assert_scim_error(scim("GET", "Users"), 401)["detail"]


def test_wrong_scope_gets_403(scim, administrator):
    _token, secret = api_token_create(
        name="HR script", scope="transfers", acting_user=administrator
    )
    assert_scim_error(scim("GET", "Users", token=secret), 403)


def test_a_token_stops_working_when_its_creator_is_deactivated(scim, administrator, superuser):
    assert scim("GET", "Users").status_code == 200
    users_services.user_set_active(user=administrator, is_active=False, acting_user=superuser)
    assert_scim_error(scim("GET", "Users"), 401)


def test_calls_are_throttled_per_token(scim, settings, administrator):
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 2
    assert scim("GET", "ServiceProviderConfig").status_code == 200
    assert scim("GET", "ServiceProviderConfig").status_code == 200
    response = scim("GET", "ServiceProviderConfig")
    assert_scim_error(response, 429)
    assert response["Retry-After"] == "60"
    _other, other_secret = api_token_create(name="Entra", scope="scim", acting_user=administrator)
    assert scim("GET", "ServiceProviderConfig", token=other_secret).status_code == 200


def test_no_session_or_csrf_on_scim(client, scim_token, administrator):
    client.force_login(administrator)  # a session alone opens nothing
    assert client.get("/scim/v2/Users").status_code == 401
    csrf_client = type(client)(enforce_csrf_checks=True)
    response = csrf_client.post(
        "/scim/v2/Users",
        data={"userName": "csrf.free", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]},
        content_type="application/scim+json",
        HTTP_AUTHORIZATION=f"Bearer {scim_token.secret}",
    )
    assert response.status_code == 201
    assert "sessionid" not in response.cookies
