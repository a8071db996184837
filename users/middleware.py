"""Ends a session whose account may no longer sign in.

The sign-in backend stops loading a suspended or inactive user on their next
request (users.backends); this also deletes the session itself, so restoring
the sign-in or reactivating the account later does not revive it: the person
signs in again."""

from django.contrib.auth import SESSION_KEY, logout


class EndRefusedSessionsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if SESSION_KEY in request.session and not request.user.is_authenticated:
            logout(request)
        return self.get_response(request)
