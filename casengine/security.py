"""Sign-in throttling glue for django-axes.

Two limits in one cool-off window, with axes' own settings
(AXES_LOCKOUT_PARAMETERS counts failures per username and address, and per
address; AXES_FAILURE_LIMIT is `failure_limit` below):
SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS for one username from one address,
SIGN_IN_FAILURES_PER_ADDRESS for one address across all usernames.
"""

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render


class SignInThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for sign-ins that come with a request.

    Every sign-in form (ours and the admin's) passes the request to
    ``authenticate()``, so every attempt from the web is counted and refused
    while locked out. Code that authenticates without a request (the test
    client's ``login()``, a management command) cannot be throttled by
    address and is let through to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _address(request) -> str:
    return getattr(request, "axes_ip_address", None) or get_client_ip_address(request)


def _pair_failures(request, credentials) -> int:
    """Failures of this username from this address in the cool-off window."""
    attempts = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials),
        ip_address=_address(request),
        attempt_time__gte=get_cool_off_threshold(request),
    )
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def _pair_locked(request, credentials) -> bool:
    return (
        _pair_failures(request, credentials) >= settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS
    )


def failure_limit(request, credentials) -> int:
    """AXES_FAILURE_LIMIT. axes compares one limit with the larger of its two
    counts (username and address, and address alone); the per-address count
    is never below the pair's. So: the pair's limit once the pair has reached
    it, otherwise the address's limit."""
    if _pair_locked(request, credentials):
        return settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS
    return settings.SIGN_IN_FAILURES_PER_ADDRESS


class SignInAttemptHandler(AxesDatabaseHandler):
    """axes' database handler, except that a successful sign-in resets only
    the failures of its own username and address: with the address among the
    lockout parameters, axes would reset the whole address, so one valid
    account would let an address keep guessing other usernames."""

    def reset_user_attempts(self, request, credentials=None) -> int:
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials), ip_address=_address(request)
        ).delete()
        return count


def lockout_response(request, original_response=None, credentials=None):
    """Our own page for a locked-out sign-in (AXES_LOCKOUT_CALLABLE)."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    pair_locked = _pair_locked(request, credentials)
    context = {
        "username": get_client_username(request, credentials) or "",
        "address_locked": not pair_locked,
        "failure_limit": (
            settings.SIGN_IN_FAILURES_PER_USERNAME_AND_ADDRESS
            if pair_locked
            else settings.SIGN_IN_FAILURES_PER_ADDRESS
        ),
        "cool_off_minutes": minutes,
    }
    return render(
        request,
        "registration/locked_out.html",
        context,
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
