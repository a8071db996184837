"""The decorator every token-authenticated URL goes through: no session, no
CSRF, no sign-in redirect; the token checked for its scope, throttled, and
put on the request as `request.api_token`."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.tokens.services import TokenRefused, api_token_authenticate


def token_door(
    *, scope: str, refusal: Callable[[HttpRequest, TokenRefused], HttpResponse]
) -> Callable:
    """Wrap a view taking (request, ...) so that it runs only with a token of
    `scope`; `refusal` renders a TokenRefused in the door's error format."""

    def decorate(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            try:
                request.api_token = api_token_authenticate(
                    authorization=request.headers.get("Authorization", ""), scope=scope
                )
            except TokenRefused as refused:
                response = refusal(request, refused)
                if refused.status == 401:
                    response["WWW-Authenticate"] = 'Bearer realm="CaseEngine"'
                if refused.status == 429:
                    response["Retry-After"] = "60"
                return response
            return view(request, *args, **kwargs)

        return csrf_exempt(login_not_required(wrapped))

    return decorate
