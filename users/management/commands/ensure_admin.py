import secrets

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from users import groups
from users.models import User


class Command(BaseCommand):
    help = "Create the administrator account, or reset its password, and print the login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        password = secrets.token_urlsafe(12)
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": "Site",
                "last_name": "Administrator",
                "email": f"{username}@example.com",
            },
        )
        user.is_active = True
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=groups.ADMINISTRATORS))
        verb = "Created" if created else "Reset"
        self.stdout.write(self.style.SUCCESS(f"{verb} the administrator account."))
        self.stdout.write(f"  Username: {username}")
        self.stdout.write(f"  Password: {password}")
