"""The sign-in backend: Django's ModelBackend, refusing suspended accounts as
it refuses inactive ones.

ModelBackend asks `user_can_authenticate` both when signing in and when
loading the user of a session on each request (`get_user`), so a suspended
user's sign-in is refused with the message an inactive account gets, and an
open session of theirs ends on its next request, as a deactivation's does."""

from django.contrib.auth.backends import ModelBackend

from users.selectors import user_may_act


class SignInBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and user_may_act(user)
