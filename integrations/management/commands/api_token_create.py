"""Create an API token from the command line and print its secret once."""

from datetime import datetime, time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from integrations.models import ApiToken
from integrations.tokens.services import api_token_create
from users.models import User


class Command(BaseCommand):
    help = (
        "Create an API token (scope scim: the identity provider's /scim/v2/; scope transfers: "
        "the JSON API /api/v1/) acting for the administrator named by --by, and print its "
        "secret once: it is stored only as a digest."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", required=True, choices=ApiToken.Scope.values)
        parser.add_argument("--expires", help="last day of validity, YYYY-MM-DD")
        parser.add_argument("--by", required=True, help="username of the administrator")

    def handle(self, *args, name, scope, expires, by, **options):
        actor = User.objects.filter(username=by).first()
        if actor is None:
            raise CommandError(f"No user {by!r}.")
        expires_at = None
        if expires:
            try:
                day = datetime.strptime(expires, "%Y-%m-%d").date()
            except ValueError as exc:
                raise CommandError(
                    f"--expires must be a date YYYY-MM-DD, not {expires!r}."
                ) from exc
            expires_at = timezone.make_aware(datetime.combine(day, time.max))
        try:
            token, secret = api_token_create(
                name=name, scope=scope, expires_at=expires_at, acting_user=actor
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(secret)
        self.stderr.write(
            f"API token “{token.name}” ({token.get_scope_display()}) created for "
            f"{actor.full_name}. The line above is its secret, shown this once."
        )
