"""The JSON API for offboarding, under /api/v1/: start a transfer (all, per
client, distributed) or its dry run, follow its job, read receipts and their
CSV, revert. The same services and rules as the screens (through
integrations.api.engine); refusals are problem details (RFC 9457) with the
engine's codes and messages. The token acts for the administrator who created
it, who must hold the permission to transfer records."""

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from clients.models import Client
from integrations.api import engine
from integrations.api.schemas import (
    JobOut,
    ProblemOut,
    ReceiptOut,
    RevertIn,
    TransferAllIn,
    TransferDistributeIn,
    TransferPerClientIn,
)
from integrations.models import ApiToken
from integrations.tokens.services import TokenRefused, api_token_authenticate
from users.models import User

PROBLEM_TYPE = "https://casengine.example/problems/"


def token_auth(request: HttpRequest):
    return api_token_authenticate(
        authorization=request.headers.get("Authorization", ""), scope=ApiToken.Scope.TRANSFERS
    )


api = NinjaAPI(
    title="CaseEngine offboarding API",
    version="1",
    description=__doc__,
    auth=token_auth,
    urls_namespace="api",
)
REFUSED = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut}


def problem(status: int, code: str, title: str, detail: str, refusals=()) -> JsonResponse:
    return JsonResponse(
        {
            "type": PROBLEM_TYPE + code,
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "refusals": list(refusals),
        },
        status=status,
        content_type="application/problem+json",
    )


@api.exception_handler(TokenRefused)
def token_refused(request, refused: TokenRefused):
    response = problem(refused.status, refused.code, "Not authorised", refused.message)
    if refused.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="CaseEngine"'
    if refused.status == 429:
        response["Retry-After"] = "60"
    return response


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return problem(401, "token_missing", "Not authorised", "Send an API token.")


@api.exception_handler(engine.TransferRefused)
def transfer_refused(request, refusal: engine.TransferRefused):
    numbers = list(
        Client.objects.filter(pk__in=refusal.client_ids)
        .order_by("number")
        .values_list("number", flat=True)
    )
    status = 403 if refusal.code == "permission_denied" else 409
    return problem(
        status,
        refusal.code,
        "Transfer refused",
        refusal.message,
        [
            {
                "code": refusal.code,
                "detail": refusal.message,
                "field": refusal.field,
                "client_numbers": numbers,
            }
        ],
    )


@api.exception_handler(NinjaValidationError)
def invalid_body(request, exc: NinjaValidationError):
    refusals = [
        {
            "code": "invalid",
            "detail": error.get("msg", ""),
            "field": ".".join(str(part) for part in error.get("loc", ()) if part != "body"),
        }
        for error in exc.errors
    ]
    return problem(400, "invalid", "Invalid request", "The request body is not valid.", refusals)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    code = {404: "not_found", 400: "invalid"}.get(exc.status_code, "error")
    return problem(exc.status_code, code, str(exc), str(exc))


# --- helpers -----------------------------------------------------------------------


def _user(username: str, role: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise HttpError(400, f"Unknown {role}: no user with username {username!r}.")
    return user


def _receipt(request, transfer, *, dry_run=False, replayed=False, recipients=None) -> dict:
    saved = transfer.pk is not None
    rows = recipients if recipients is not None else (transfer.recipients.all() if saved else ())
    return {
        "id": transfer.pk,
        "url": request.build_absolute_uri(reverse("api:transfer_receipt", args=[transfer.pk]))
        if saved
        else None,
        "csv_url": request.build_absolute_uri(reverse("api:transfer_csv", args=[transfer.pk]))
        if saved
        else None,
        "mode": transfer.mode,
        "created_at": transfer.created_at,
        "actor_name": transfer.actor_name,
        "from_user": transfer.from_user.username if transfer.from_user_id else None,
        "from_user_name": transfer.from_user_name,
        "deactivated_from_user": transfer.deactivated_from_user,
        "counts": transfer.record_counts.to_json(),
        "revoked_share_count": transfer.revoked_share_count,
        "dry_run": dry_run,
        "replayed": replayed,
        "recipients": [
            {
                "to_user": row.to_user.username if row.to_user_id else None,
                "to_user_name": row.to_user_name,
                "counts": row.record_counts.to_json(),
            }
            for row in rows
        ],
    }


def _job(request, job) -> dict:
    state = engine.transfer_job_state(job=job)
    job.refresh_from_db()
    return {
        "id": job.pk,
        "url": request.build_absolute_uri(reverse("api:transfer_job", args=[job.pk])),
        "status": job.status,
        "phase": state.phase,
        "counts": state.counts.to_json(),
        "record_count": job.record_count,
        "progress_percent": min(100, state.moved * 100 // job.record_count)
        if job.record_count
        else (100 if state.receipt else 0),
        "message": job.message,
        "receipt": _receipt(request, state.receipt) if state.receipt else None,
    }


def _submitted(request, submission: engine.Submission):
    """201 with the receipt of a transfer that ran now; 202 with the job's URL
    (Location) for one that runs in the background."""
    if submission.transfer is not None:
        body = _receipt(request, submission.transfer, replayed=submission.replayed)
        response = api.create_response(request, body, status=201)
        response["Location"] = body["url"]
        return response
    body = _job(request, submission.job)
    response = api.create_response(request, body, status=202)
    response["Location"] = body["url"]
    return response


def _start(request, service, *, old, dry_run: bool, **arguments):
    acting_user = request.auth.created_by
    if dry_run:
        result = service(acting_user=acting_user, old_user=old, dry_run=True, **arguments)
        return Status(
            200, _receipt(request, result.transfer, dry_run=True, recipients=result.recipients)
        )
    submission = engine.transfer_submit(
        service=service, acting_user=acting_user, old_user=old, **arguments
    )
    return _submitted(request, submission)


# --- start ------------------------------------------------------------------------------

STARTED = {200: ReceiptOut, 201: ReceiptOut, 202: JobOut, **REFUSED}


@api.post("/transfers/all", response=STARTED, url_name="transfer_all")
def transfer_all(request, body: TransferAllIn):
    """Transfer All: everything `from_user` owns, and their shares, to `to_user`."""
    return _start(
        request,
        engine.records_transfer_all,
        old=_user(body.from_user, "from_user"),
        new_user=_user(body.to_user, "to_user"),
        deactivate_old_user=body.deactivate_old_user,
        request_key=body.request_key,
        dry_run=body.dry_run,
    )


@api.post("/transfers/per-client", response=STARTED, url_name="transfer_per_client")
def transfer_per_client(request, body: TransferPerClientIn):
    """Transfer client by client: `plan` maps every client linked to
    `from_user` (by number) to the username of its new user."""
    old = _user(body.from_user, "from_user")
    clients = dict(Client.objects.filter(number__in=body.plan).values_list("number", "pk"))
    unknown = sorted(set(body.plan) - set(clients))
    if unknown:
        raise HttpError(400, "Unknown client numbers in the plan: " + ", ".join(unknown))
    users = {u.username: u for u in User.objects.filter(username__in=set(body.plan.values()))}
    unknown_users = sorted(set(body.plan.values()) - set(users))
    if unknown_users:
        raise HttpError(400, "Unknown usernames in the plan: " + ", ".join(unknown_users))
    return _start(
        request,
        engine.records_transfer_per_client,
        old=old,
        assignments={clients[number]: users[name] for number, name in body.plan.items()},
        deactivate_old_user=body.deactivate_old_user,
        request_key=body.request_key,
        dry_run=body.dry_run,
    )


@api.post("/transfers/distribute", response=STARTED, url_name="transfer_distribute")
def transfer_distribute(request, body: TransferDistributeIn):
    """Distribute: every client linked to `from_user` goes whole to one of
    `to_users`, by workload (largest client first) or round robin, as
    Distribute on the User Transfer screen."""
    old = _user(body.from_user, "from_user")
    to_users = [_user(name, "to_users") for name in dict.fromkeys(body.to_users)]
    mode = (
        engine.DistributionMode.ROUND_ROBIN
        if body.mode == "round_robin"
        else engine.DistributionMode.WORKLOAD
    )
    distribution = engine.client_distribution(old_user=old, to_users=to_users, mode=mode)
    return _start(
        request,
        engine.records_transfer_per_client,
        old=old,
        assignments=distribution.assignments,
        expected_client_ids=list(distribution.assignments),
        deactivate_old_user=body.deactivate_old_user,
        request_key=body.request_key,
        dry_run=body.dry_run,
    )


# --- follow and read -------------------------------------------------------------------


@api.get("/jobs/{job_id}", response={200: JobOut, **REFUSED}, url_name="transfer_job")
def transfer_job(request, job_id: int):
    """A background transfer or revert: its status, phase and counts, and its
    receipt once done."""
    job = engine.TransferJob.objects.filter(pk=job_id).first()
    if job is None:
        raise HttpError(404, f"No job {job_id}.")
    return Status(200, _job(request, job))


def _transfer(transfer_id: int):
    transfer = engine.Transfer.objects.select_related("from_user").filter(pk=transfer_id).first()
    if transfer is None:
        raise HttpError(404, f"No transfer {transfer_id}.")
    return transfer


@api.get(
    "/transfers/{transfer_id}", response={200: ReceiptOut, **REFUSED}, url_name="transfer_receipt"
)
def transfer_receipt(request, transfer_id: int):
    """A transfer's receipt: who, when, from whom, and the counts per new user."""
    transfer = _transfer(transfer_id)
    recipients = transfer.recipients.select_related("to_user")
    return Status(200, _receipt(request, transfer, recipients=recipients))


@api.get("/transfers/{transfer_id}/csv", url_name="transfer_csv", response={**REFUSED})
def transfer_csv(request, transfer_id: int) -> HttpResponse:
    """Every record a transfer moved, as CSV (streamed)."""
    transfer = _transfer(transfer_id)
    response = StreamingHttpResponse(
        engine.receipt_csv_lines(transfer), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="transfer-{transfer.pk}.csv"'
    return response


# --- undo ------------------------------------------------------------------------------


@api.post(
    "/transfers/{transfer_id}/revert",
    response={201: ReceiptOut, 202: JobOut, **REFUSED},
    url_name="transfer_revert",
)
def transfer_revert(request, transfer_id: int, body: RevertIn | None = None):
    """Revert a transfer: now (201, its receipt) or in the background (202)."""
    transfer = _transfer(transfer_id)
    submission = engine.revert_submit(
        acting_user=request.auth.created_by,
        transfer=transfer,
        request_key=body.request_key if body else None,
    )
    return _submitted(request, submission)
