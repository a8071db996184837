"""SCIM's answers: its media type, its error format (RFC 7644 §3.12) for
every failure, and the decorator that puts a SCIM view behind a SCIM token."""

from functools import wraps

from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from pydantic import ValidationError as PydanticValidationError
from scim2_models import Context, Error, SCIMException

from integrations.models import ApiToken
from integrations.scim import resources
from integrations.tokens.doors import token_door

CONTENT_TYPE = "application/scim+json"
REFUSAL_STATUS = {
    "deactivate_self": 409,
    "last_superuser": 409,
    "owner_permission_removed": 409,
    "suspend_self": 409,
}


def scim_response(payload: dict | None, status: int = 200, location: str | None = None):
    if payload is None:
        return HttpResponse(status=status)
    response = JsonResponse(payload, status=status, content_type=CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def error_response(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return scim_response(resources.dumped(error, context=Context.DEFAULT), status=status)


def token_refusal(request, refused):
    return error_response(refused.status, refused.message)


def _refusal_text(error: ValidationError) -> tuple[str, str]:
    if hasattr(error, "error_dict"):
        errors = [e for errs in error.error_dict.values() for e in errs]
    else:
        errors = error.error_list
    messages = " ".join(message for e in errors for message in e.messages)
    return (errors[0].code or "invalid") if errors else "invalid", messages


def scim_view(view):
    """Authenticate with a SCIM-scoped token, and answer every failure in
    SCIM's error format."""

    @token_door(scope=ApiToken.Scope.SCIM, refusal=token_refusal)
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except SCIMException as exc:
            return error_response(exc.status, exc.detail, exc.scim_type or None)
        except PydanticValidationError as exc:
            error = Error.from_validation_error(exc.errors()[0])
            return error_response(
                int(error.status or 400), error.detail or str(exc), error.scim_type
            )
        except ValidationError as refusal:
            code, text = _refusal_text(refusal)
            if code == "unique":
                return error_response(409, text, "uniqueness")
            return error_response(REFUSAL_STATUS.get(code, 400), text, "invalidValue")

    return wrapped
