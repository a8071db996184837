"""Writes about API tokens: create (the secret returned once), revoke, and the
check every request with a token goes through."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.models import ApiToken
from users.models import User
from users.selectors import user_may_act

SECRET_PREFIX = "ce_"
# A token used within this long of its recorded last use is not written again:
# one UPDATE a minute per token, not one per request.
LAST_USE_RESOLUTION = timedelta(minutes=1)

TOKEN_ERRORS = {
    "name_required": "Give the token a name.",
    "scope_unknown": "The scope must be one of: {scopes}.",
    "expiry_past": "The expiry must be in the future.",
    "creator_may_not_create": "{name} may not create API tokens (administrators only).",
    "already_revoked": "The token “{name}” was already revoked.",
}


def token_digest(secret: str) -> str:
    """The secret's SHA-256: the secret is 256 random bits, so a fast hash is
    as safe as a slow one and lets the token be found by an indexed lookup."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_creator_may_act(user: User) -> bool:
    """Whether the administrator behind a token may still act: a token stops
    working when its creator is deactivated or their sign-in suspended."""
    return user_may_act(user)


def api_token_create(
    *,
    name: str,
    scope: str,
    acting_user: User,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `acting_user` (who must be allowed to manage
    tokens) and return it with its secret, which is stored only as a digest."""
    name = name.strip()
    if not name:
        raise ValidationError(
            {"name": ValidationError(TOKEN_ERRORS["name_required"], "name_required")}
        )
    if scope not in ApiToken.Scope.values:
        raise ValidationError(
            {
                "scope": ValidationError(
                    TOKEN_ERRORS["scope_unknown"].format(scopes=", ".join(ApiToken.Scope.values)),
                    "scope_unknown",
                )
            }
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(
            {"expires_at": ValidationError(TOKEN_ERRORS["expiry_past"], "expiry_past")}
        )
    if not (
        token_creator_may_act(acting_user) and acting_user.has_perm("integrations.add_apitoken")
    ):
        raise ValidationError(
            TOKEN_ERRORS["creator_may_not_create"].format(name=acting_user.full_name),
            code="creator_may_not_create",
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        scope=scope,
        digest=token_digest(secret),
        prefix=secret[:10],
        expires_at=expires_at,
        created_by=acting_user,
    )
    return token, secret


def api_token_revoke(*, token: ApiToken, acting_user: User | None) -> ApiToken:
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise ValidationError(
                TOKEN_ERRORS["already_revoked"].format(name=locked.name), code="already_revoked"
            )
        locked.revoked_at = timezone.now()
        locked.revoked_by_name = acting_user.full_name if acting_user is not None else ""
        locked.save(update_fields=["revoked_at", "revoked_by_name"])
    return locked


class TokenRefused(Exception):
    """Why a request's token was not accepted: 401 (no usable token), 403
    (a token of another scope) or 429 (too many calls)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _bearer_secret(authorization: str) -> str | None:
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def _throttle(token: ApiToken) -> None:
    limit = settings.API_TOKEN_REQUESTS_PER_MINUTE
    key = f"api-token-calls:{token.digest}:{int(timezone.now().timestamp() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        calls = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        calls = 1
    if calls > limit:
        raise TokenRefused(
            429, "throttled", f"Too many calls with this token (at most {limit} a minute)."
        )


def api_token_authenticate(*, authorization: str, scope: str) -> ApiToken:
    """The token named by an Authorization header, if it may be used for
    `scope` now; TokenRefused otherwise. Records its last use."""
    secret = _bearer_secret(authorization or "")
    if secret is None:
        raise TokenRefused(
            401, "token_missing", "Send an API token: Authorization: Bearer <token>."
        )
    token = (
        ApiToken.objects.select_related("created_by").filter(digest=token_digest(secret)).first()
    )
    now = timezone.now()
    if token is None:
        raise TokenRefused(401, "token_unknown", "This API token is not valid.")
    if token.revoked_at is not None:
        raise TokenRefused(401, "token_revoked", "This API token was revoked.")
    if token.is_expired(now):
        raise TokenRefused(401, "token_expired", "This API token has expired.")
    if not token_creator_may_act(token.created_by):
        raise TokenRefused(
            401,
            "token_creator_inactive",
            "The user who created this API token may no longer act, so the token no longer works.",
        )
    if token.scope != scope:
        raise TokenRefused(
            403,
            "token_scope",
            f"This API token's scope is {token.get_scope_display()}; this URL needs "
            f"{ApiToken.Scope(scope).label}.",
        )
    _throttle(token)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
