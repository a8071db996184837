import secrets

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from users import groups
from users.models import User
from users.services import user_access_update, user_create, user_set_active, user_sign_in_restore


class Command(BaseCommand):
    help = "Create the administrator account, or reset its password, and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        password = secrets.token_urlsafe(12)
        administrators = Group.objects.get(name=groups.ADMINISTRATORS)
        with transaction.atomic():
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                # Through the services, like every other door: the account's
                # history records who created, reactivated or promoted it.
                user = user_create(
                    username=username,
                    password=password,
                    first_name="Site",
                    last_name="Administrator",
                    email=f"{username}@example.com",
                    groups=[administrators],
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            user_access_update(
                user=user,
                acting_user=None,
                groups=[administrators, *user.groups.exclude(pk=administrators.pk)],
                is_staff=True,
                is_superuser=True,
            )
            user_set_active(user=user, is_active=True, acting_user=None)
            if user.sign_in_suspended_at is not None:
                # The way back in for a locked-out administrator.
                user_sign_in_restore(user=user, acting_user=None)
        verb = "Created" if created else "Reset"
        self.stdout.write(self.style.SUCCESS(f"{verb} the administrator account."))
        self.stdout.write(f"  Username: {username}")
        self.stdout.write(f"  Password: {password}")
