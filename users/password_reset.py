"""Password reset, refused for accounts that may not sign in.

Django's reset form already sends nothing to an inactive account (and says
the same thing as for any address, so it reveals no accounts); a suspended
account is treated the same way. Links sent before a suspension stop working:
the token covers the suspension and the active state."""

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator

from users.selectors import user_may_act


class SignInPasswordResetForm(PasswordResetForm):
    def get_users(self, email):
        return (user for user in super().get_users(email) if user_may_act(user))


class SignInTokenGenerator(PasswordResetTokenGenerator):
    def _make_hash_value(self, user, timestamp):
        return (
            super()._make_hash_value(user, timestamp)
            + f"{user.is_active}{user.sign_in_suspended_at or ''}"
        )


password_reset_token_generator = SignInTokenGenerator()
