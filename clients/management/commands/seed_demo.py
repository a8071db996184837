import time

from django.core.management.base import BaseCommand, CommandError

from clients.demo import DEMO_PASSWORD, bulk_records_generate, demo_firm_seed
from users.models import User


class Command(BaseCommand):
    help = (
        "Create the demo firm (idempotent and deterministic). With --scale N, also add N "
        "clients with 5 matters each and 5 cases per matter (a deadline on each case), for "
        "benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=0, help="Clients to generate in bulk.")
        parser.add_argument(
            "--owner", default="dana.reyes", help="Username that owns the generated records."
        )

    def handle(self, *args, scale: int, owner: str, **options):
        summary = demo_firm_seed()
        self.stdout.write(
            f"Demo firm: {summary.users} users, {summary.clients} clients, "
            f"{summary.matters} matters, {summary.cases} cases, {summary.deadlines} deadlines. "
            f"Demo users sign in with the password {DEMO_PASSWORD!r}."
        )
        if scale < 0:
            raise CommandError("--scale must be zero or more.")
        if scale:
            try:
                owner_user = User.objects.get(username=owner)
            except User.DoesNotExist:
                raise CommandError(f"No user with username {owner!r}.") from None
            started = time.perf_counter()
            clients, matters, cases = bulk_records_generate(owners=[owner_user], clients=scale)
            elapsed = time.perf_counter() - started
            rate = (clients + matters + cases) / elapsed if elapsed else 0
            self.stdout.write(
                f"Generated {clients} clients, {matters} matters, {cases} cases for "
                f"{owner_user.full_name} in {elapsed:.1f} s ({rate:,.0f} records/s)."
            )
