"""The JSON API for offboarding: start, follow, read, undo; problem details
for refusals; tokens."""

import uuid

import pytest
from django.test import Client as HttpClient

from clients.models import Case, Client, Matter
from integrations.tokens.services import api_token_create, api_token_revoke
from tests.factories import CaseFactory, ClientFactory, MatterFactory, OwnerFactory
from tests.integrations.conftest import default_groups_restore
from tests.transfers.job_support import run_worker
from transfers.background.routers import PROGRESS_DATABASE
from transfers.models import Transfer, TransferJob
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", PROGRESS_DATABASE])


@pytest.fixture(autouse=True)
def default_groups(transactional_db):
    default_groups_restore()


@pytest.fixture
def firm(administrator):
    """Sam leaves owning two clients (A-1 with a matter and two cases, B-2);
    Nina and Marcus may receive; Frank is inactive."""
    sam = OwnerFactory(username="sam.leaver", first_name="Sam", last_name="Leaver")
    a1 = ClientFactory(number="A-1", name="Adler", owner=sam)
    matter = MatterFactory(client=a1, owner=sam)
    CaseFactory(matter=matter, owner=sam)
    CaseFactory(matter=matter, owner=sam)
    b2 = ClientFactory(number="B-2", name="Bolt", owner=sam)
    OwnerFactory(username="nina.new", first_name="Nina", last_name="New")
    OwnerFactory(username="marcus.hale", first_name="Marcus", last_name="Hale")
    OwnerFactory(username="frank.former", is_active=False)
    return sam, a1, b2


@pytest.fixture
def token(administrator):
    _token, secret = api_token_create(
        name="HR offboarding", scope="transfers", acting_user=administrator
    )
    _token.secret = secret
    return _token


@pytest.fixture
def api(token):
    http = HttpClient(enforce_csrf_checks=True)

    def call(method, path, json=None, secret=None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {secret or token.secret}"}
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(http, method.lower())(f"/api/v1/{path}", **kwargs)

    return call


def owned(username):
    user = User.objects.get(username=username)
    return sum(model.objects.filter(owner=user).count() for model in (Client, Matter, Case))


def test_transfer_all_above_the_threshold_is_followed_to_its_receipt(api, firm, settings):
    settings.TRANSFER_BACKGROUND_THRESHOLD = 2
    response = api(
        "POST",
        "transfers/all",
        {"from_user": "sam.leaver", "to_user": "nina.new", "deactivate_old_user": True},
    )
    assert response.status_code == 202, response.content
    job = response.json()
    assert response["Location"] == job["url"] and job["status"] == "queued"
    assert job["receipt"] is None and owned("sam.leaver") == 5

    run_worker()

    followed = api("GET", job["url"].split("/api/v1/")[1])
    assert followed.status_code == 200
    state = followed.json()
    assert (state["status"], state["phase"], state["progress_percent"]) == ("done", "done", 100)
    receipt = state["receipt"]
    counts = receipt["counts"]
    assert (counts["client"], counts["matter"], counts["case"]) == (2, 1, 2)
    assert receipt["deactivated_from_user"] is True
    assert receipt["recipients"][0]["to_user"] == "nina.new"
    assert receipt["actor_name"] == "Olivia Grant"
    assert owned("sam.leaver") == 0 and owned("nina.new") == 5
    assert not User.objects.get(username="sam.leaver").is_active

    csv = api("GET", receipt["csv_url"].split("/api/v1/")[1])
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert len(b"".join(csv.streaming_content).decode().strip().splitlines()) == 1 + 5


def test_transfer_below_the_threshold_answers_201_with_the_receipt_and_reverts(api, firm):
    response = api("POST", "transfers/all", {"from_user": "sam.leaver", "to_user": "nina.new"})
    assert response.status_code == 201, response.content
    receipt = response.json()
    assert response["Location"] == receipt["url"]
    assert api("GET", f"transfers/{receipt['id']}").json()["counts"]["client"] == 2
    reverted = api("POST", f"transfers/{receipt['id']}/revert", {})
    assert reverted.status_code == 201, reverted.content
    assert reverted.json()["mode"] == Transfer.Mode.REVERT
    assert owned("sam.leaver") == 5
    again = api("POST", f"transfers/{receipt['id']}/revert", {})
    assert again.status_code == 409 and again.json()["code"] == "revert_not_allowed"


def test_dry_run_previews_and_changes_nothing(api, firm):
    response = api(
        "POST",
        "transfers/distribute",
        {"from_user": "sam.leaver", "to_users": ["nina.new", "marcus.hale"], "dry_run": True},
    )
    assert response.status_code == 200, response.content
    preview = response.json()
    assert preview["dry_run"] is True and preview["id"] is None
    assert {r["to_user"] for r in preview["recipients"]} == {"nina.new", "marcus.hale"}
    assert not Transfer.objects.exists() and owned("sam.leaver") == 5


def test_distribute_moves_each_client_whole(api, firm):
    response = api(
        "POST",
        "transfers/distribute",
        {"from_user": "sam.leaver", "to_users": ["nina.new", "marcus.hale"], "mode": "round_robin"},
    )
    assert response.status_code == 201, response.content
    assert owned("nina.new") + owned("marcus.hale") == 5 and owned("sam.leaver") == 0


def test_a_refused_per_client_plan_is_answered_with_its_codes(api, firm):
    sam, _a1, _b2 = firm
    response = api(
        "POST",
        "transfers/per-client",
        {"from_user": "sam.leaver", "plan": {"A-1": "frank.former", "B-2": "nina.new"}},
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "new_user_inactive" and problem["status"] == 409
    assert problem["refusals"][0]["client_numbers"] == ["A-1"]
    assert owned("sam.leaver") == 5 and not Transfer.objects.exists()

    missing = api(
        "POST", "transfers/per-client", {"from_user": "sam.leaver", "plan": {"A-1": "nina.new"}}
    )
    assert missing.status_code == 409 and missing.json()["code"] == "client_unassigned"

    unknown = api(
        "POST", "transfers/per-client", {"from_user": "sam.leaver", "plan": {"Z-9": "nina.new"}}
    )
    assert unknown.status_code == 400 and "Z-9" in unknown.json()["detail"]

    invalid = api("POST", "transfers/per-client", {"from_user": "sam.leaver"})
    assert invalid.status_code == 400 and invalid.json()["refusals"][0]["field"] == "plan"
    assert owned("sam.leaver") == 5


def test_tokens_401_403_and_revoked(api, firm, token, administrator):
    body = {"from_user": "sam.leaver", "to_user": "nina.new"}
    no_token = HttpClient().post("/api/v1/transfers/all", body, content_type="application/json")
    assert no_token.status_code == 401 and no_token["Content-Type"] == "application/problem+json"
    assert api("POST", "transfers/all", body, secret="ce_wrong").status_code == 401
    _scim, scim_secret = api_token_create(name="Okta", scope="scim", acting_user=administrator)
    wrong_scope = api("POST", "transfers/all", body, secret=scim_secret)
    assert wrong_scope.status_code == 403 and wrong_scope.json()["code"] == "token_scope"
    api_token_revoke(token=token, acting_user=administrator)
    revoked = api("POST", "transfers/all", body)
    assert revoked.status_code == 401 and revoked.json()["code"] == "token_revoked"
    assert owned("sam.leaver") == 5


def test_a_token_whose_creator_may_not_transfer_is_refused(api, firm, administrator):
    from django.contrib.auth.models import Group

    from users import groups
    from users.services import user_access_update

    user_access_update(
        user=administrator, acting_user=None, groups=[Group.objects.get(name=groups.MANAGERS)]
    )
    response = api("POST", "transfers/all", {"from_user": "sam.leaver", "to_user": "nina.new"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_the_schema_and_its_docs_are_served_from_the_app(admin_http):
    schema = admin_http.get("/api/v1/openapi.json").json()
    assert "/api/v1/transfers/all" in schema["paths"]
    docs = admin_http.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()


def test_a_retry_with_the_same_request_key_returns_the_first_outcome(api, firm):
    key = str(uuid.uuid4())
    body = {"from_user": "sam.leaver", "to_user": "nina.new", "request_key": key}
    first = api("POST", "transfers/all", body).json()
    second = api("POST", "transfers/all", body).json()
    assert second["id"] == first["id"] and second["replayed"] is True
    assert Transfer.objects.count() == 1 and not TransferJob.objects.exists()


def test_a_deactivating_per_client_transfer_says_how_many_shares_it_revoked(api, firm):
    from clients.models import ClientUserObjectPermission
    from tests.factories import ClientShareFactory

    sam, _a1, _b2 = firm
    elsewhere = ClientFactory(number="E-5", name="Elm", owner=User.objects.get(username="nina.new"))
    ClientShareFactory(content_object=elsewhere, user=sam)
    response = api(
        "POST",
        "transfers/per-client",
        {
            "from_user": "sam.leaver",
            "plan": {"A-1": "nina.new", "B-2": "marcus.hale"},
            "deactivate_old_user": True,
        },
    )
    assert response.status_code == 201, response.content
    receipt = response.json()
    assert receipt["revoked_share_count"] == 1 and receipt["counts"]["shares"] == 0
    assert not ClientUserObjectPermission.objects.filter(user=sam).exists()
    csv = api("GET", receipt["csv_url"].split("/api/v1/")[1])
    header, *rows = b"".join(csv.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert header.endswith(",share_revoked")
    assert [row for row in rows if row.endswith(",yes")] == [
        f"{receipt['id']},client_share,{elsewhere.pk},E-5,Elm,view_client,Sam Leaver,,,yes"
    ]
    reverted = api("POST", f"transfers/{receipt['id']}/revert", {}).json()
    assert reverted["revoked_share_count"] == 1
    assert ClientUserObjectPermission.objects.filter(user=sam, content_object=elsewhere).exists()
