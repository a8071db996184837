"""Suspend (or restore) a user's sign-in from the command line, through the
same service as User Registration and the admin."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from users.models import User
from users.selectors import user_may_act
from users.services import user_sign_in_restore, user_sign_in_suspend

CHANGE_USER_PERMISSION = "users.change_user"


class Command(BaseCommand):
    help = """Suspend a user's sign-in at once, whatever they own, or restore it.

  user_suspend USER --by ACTOR [--reason "Leaves on Friday"]
  user_suspend USER --by ACTOR --restore

A suspended user is signed out on their next request and cannot sign in,
reset their password, use an API token or be given records; they keep what
they own until it is transferred. --by names the user recorded in the
account history (they need the permission to change users)."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", metavar="USER", help="username of the user to suspend")
        parser.add_argument(
            "--by",
            metavar="ACTOR",
            required=True,
            help="username of the user doing it (needs the permission to change users)",
        )
        parser.add_argument("--reason", default="", help="why (kept in the account history)")
        parser.add_argument(
            "--restore", action="store_true", help="restore the user's sign-in instead"
        )

    def handle(self, *args, **options) -> None:
        if options["restore"] and options["reason"]:
            raise CommandError("--reason goes with a suspension, not with --restore.")
        actor = self._user(options["by"], "actor (--by)")
        if not (user_may_act(actor) and actor.has_perm(CHANGE_USER_PERMISSION)):
            raise CommandError(
                f"{actor.full_name} ({actor.username}) is not allowed to suspend or restore "
                "sign-ins (an active user with the permission to change users is needed)."
            )
        user = self._user(options["user"], "user")
        try:
            if options["restore"]:
                user_sign_in_restore(user=user, acting_user=actor)
            else:
                user_sign_in_suspend(user=user, acting_user=actor, reason=options["reason"])
        except ValidationError as refusal:
            raise CommandError(f"Refused ({refusal.code}): {refusal.messages[0]}") from None
        if options["restore"]:
            self.stdout.write(self.style.SUCCESS(f"{user.full_name}'s sign-in was restored."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{user.full_name}'s sign-in was suspended. "
                    "They keep what they own until it is transferred."
                )
            )

    def _user(self, username: str, role: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Unknown {role}: no user with username {username!r}.")
        return user
