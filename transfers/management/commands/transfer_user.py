"""Transfer everything a user holds from the command line, through the same
services (and the same rules) as the settings screens."""

import csv
from argparse import ArgumentTypeError
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from clients.models import Client
from transfers.background.progress import TerminalProgress
from transfers.background.submit import transfer_submit
from transfers.engine.distribution import DistributionMode, client_distribution
from transfers.engine.holdings import linked_clients
from transfers.engine.result import TransferResult
from transfers.engine.services import (
    records_transfer_all,
    records_transfer_distributed,
    records_transfer_per_client,
)
from transfers.errors import TransferRefused
from users.models import User

HELP = """Transfer the clients, matters, cases and shares of user OLD.

  transfer_user OLD --to NEW --by ACTOR            everything to one user (User Transfer All)
  transfer_user OLD --plan plan.csv --by ACTOR     client by client (User Transfer)
  transfer_user OLD --distribute a,b,c --by ACTOR  client by client, balanced by workload

The plan is a CSV file with two columns, client number and username of the
new user (a header row is allowed). Every client linked to OLD (owned by OLD,
or with matters or cases of OLD) must appear in it, and only those.

--distribute spreads every client linked to OLD, each whole, over the users
named (usernames, comma-separated), exactly as Distribute on the User Transfer
screen: largest client first, each to the user whose resulting case count
(then client count) is smallest, counting what they already own; with
--round-robin the clients are dealt in order (name, number) to the users in
the order given.

--by names the user the receipt records as having done the transfer; it is
required and that user must hold the permission to transfer records (e.g. be
in the Administrators group), exactly as in the browser.

--dry-run checks everything and prints what would move to each new user,
then rolls back: nothing changes and nobody is emailed.

--at "YYYY-MM-DD HH:MM" (the firm's time zone, TIME_ZONE) schedules the
transfer instead: it is checked now, exactly as a Save, stored as a job that
a worker (`manage.py db_worker`) runs at that time, checked again then, and
listed in Transfer History as scheduled, where it can be cancelled.

While it runs, the phase (clients, matters, cases, shares, receipt) and the
counts moved so far are shown on stderr when it is a terminal.

Exits non-zero with a message on unknown users or clients, a malformed plan
and every refusal of the transfer (printed with its code)."""


def scheduled_time(text: str) -> datetime:
    """ "YYYY-MM-DD HH:MM" in the firm's time zone."""
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise ArgumentTypeError(f'write the time as "YYYY-MM-DD HH:MM", not "{text}"') from None
    return timezone.make_aware(naive)


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        from argparse import RawDescriptionHelpFormatter

        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("old", metavar="OLD", help="username of the user to transfer from")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--to", metavar="NEW", help="username of the one new user")
        target.add_argument(
            "--plan", metavar="CSV", help="CSV file: client number, username of its new user"
        )
        target.add_argument(
            "--distribute",
            metavar="USERS",
            help="usernames, comma-separated: spread the clients among them by workload",
        )
        parser.add_argument(
            "--round-robin",
            action="store_true",
            help="with --distribute: deal the clients in turn instead of by workload",
        )
        parser.add_argument(
            "--by",
            metavar="ACTOR",
            required=True,
            help="username of the user doing the transfer (needs the transfer permission)",
        )
        parser.add_argument(
            "--deactivate", action="store_true", help="deactivate OLD in the same transaction"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would move and change nothing"
        )
        parser.add_argument(
            "--at",
            metavar="WHEN",
            type=scheduled_time,
            help='schedule it for "YYYY-MM-DD HH:MM" in the firm\'s time zone',
        )

    def handle(self, *args, **options) -> None:
        if options["round_robin"] and not options["distribute"]:
            raise CommandError("--round-robin goes with --distribute.")
        if options["at"] and options["dry_run"]:
            raise CommandError("--dry-run checks a transfer now; leave out --at.")
        actor = self._user(options["by"], "actor (--by)")
        old = self._user(options["old"], "old user")
        progress = TerminalProgress(self.stderr._out) if self.stderr.isatty() else None
        try:
            if options["to"]:
                new = self._user(options["to"], "new user (--to)")
                arguments = {"new_user": new, "deactivate_old_user": options["deactivate"]}
                if options["at"]:
                    return self._schedule(records_transfer_all, actor, old, options, arguments)
                result = records_transfer_all(
                    acting_user=actor,
                    old_user=old,
                    dry_run=options["dry_run"],
                    progress=progress,
                    **arguments,
                )
            elif options["distribute"]:
                mode = (
                    DistributionMode.ROUND_ROBIN
                    if options["round_robin"]
                    else DistributionMode.WORKLOAD
                )
                if options["at"]:
                    # The plan is made now and stored client by client, as the screen does.
                    distribution = client_distribution(
                        old_user=old, to_users=self._users(options["distribute"]), mode=mode
                    )
                    arguments = {
                        "assignments": distribution.assignments,
                        "deactivate_old_user": options["deactivate"],
                        "expected_client_ids": list(distribution.assignments),
                    }
                    return self._schedule(
                        records_transfer_per_client, actor, old, options, arguments
                    )
                result = records_transfer_distributed(
                    acting_user=actor,
                    old_user=old,
                    to_users=self._users(options["distribute"]),
                    mode=mode,
                    deactivate_old_user=options["deactivate"],
                    dry_run=options["dry_run"],
                    progress=progress,
                )
            else:
                assignments = self._read_plan(Path(options["plan"]))
                arguments = {
                    "assignments": assignments,
                    "deactivate_old_user": options["deactivate"],
                }
                if options["at"]:
                    return self._schedule(
                        records_transfer_per_client, actor, old, options, arguments
                    )
                result = records_transfer_per_client(
                    acting_user=actor,
                    old_user=old,
                    dry_run=options["dry_run"],
                    progress=progress,
                    **arguments,
                )
        except TransferRefused as refusal:
            detail = ""
            if refusal.client_ids:
                numbers = Client.objects.filter(pk__in=refusal.client_ids).order_by("number")
                detail = " Clients: " + ", ".join(numbers.values_list("number", flat=True)) + "."
            raise CommandError(f"Refused ({refusal.code}): {refusal.message}{detail}") from None
        finally:
            if progress is not None and progress.phase:
                progress.finish()
        self._report(result, old)

    def _schedule(self, service, actor: User, old: User, options: dict, arguments: dict) -> None:
        """Check now and store the job that a worker runs at --at."""
        submitted = transfer_submit(
            service=service,
            acting_user=actor,
            old_user=old,
            run_at=options["at"],
            request_key=None,
            **arguments,
        )
        job = submitted.job
        self.stdout.write(
            f"Scheduled transfer job #{job.pk} of {old.username}'s records for "
            f"{job.run_at_text} ({settings.TIME_ZONE}); checked now, and again then."
        )

    # --- input ---------------------------------------------------------------

    def _user(self, username: str, role: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Unknown {role}: no user with username {username!r}.")
        return user

    def _read_plan(self, path: Path) -> dict[int, User]:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"Cannot read the plan {path}: {error.strerror}.") from None
        except UnicodeDecodeError:
            raise CommandError(f"The plan {path} is not UTF-8 text.") from None
        rows: list[tuple[int, str, str]] = []
        try:
            for line_number, row in enumerate(csv.reader(text.splitlines()), start=1):
                cells = [cell.strip() for cell in row]
                if not any(cells):
                    continue
                if len(cells) != 2 or not all(cells):
                    raise CommandError(
                        f"{path}, line {line_number}: expected two columns "
                        f"(client number, username), got {row!r}."
                    )
                rows.append((line_number, cells[0], cells[1]))
        except csv.Error as error:
            raise CommandError(f"{path} is not a valid CSV file: {error}.") from None
        numbers = {number for _, number, _ in rows}
        clients = dict(Client.objects.filter(number__in=numbers).values_list("number", "pk"))
        if rows and rows[0][1] not in clients and not rows[0][1][:1].isdigit():
            header = rows[0][1].lower()
            if "client" in header or "number" in header:
                rows = rows[1:]
        if not rows:
            raise CommandError(f"The plan {path} assigns no clients.")
        unknown_clients = sorted({number for _, number, _ in rows if number not in clients})
        if unknown_clients:
            raise CommandError("Unknown client numbers in the plan: " + ", ".join(unknown_clients))
        usernames = {username for _, _, username in rows}
        users = {user.username: user for user in User.objects.filter(username__in=usernames)}
        unknown_users = sorted(usernames - set(users))
        if unknown_users:
            raise CommandError("Unknown usernames in the plan: " + ", ".join(unknown_users))
        assignments: dict[int, User] = {}
        for line_number, number, username in rows:
            client_id = clients[number]
            if client_id in assignments and assignments[client_id].username != username:
                raise CommandError(
                    f"{path}, line {line_number}: client {number} is assigned twice, "
                    f"to {assignments[client_id].username} and {username}."
                )
            assignments[client_id] = users[username]
        return assignments

    def _users(self, usernames_text: str) -> list[User]:
        """The users --distribute names, in the order given."""
        usernames = list(dict.fromkeys(n.strip() for n in usernames_text.split(",") if n.strip()))
        if not usernames:
            raise CommandError("--distribute needs at least one username.")
        users = {user.username: user for user in User.objects.filter(username__in=usernames)}
        unknown = [name for name in usernames if name not in users]
        if unknown:
            raise CommandError("Unknown usernames in --distribute: " + ", ".join(unknown))
        return [users[name] for name in usernames]

    # --- output --------------------------------------------------------------

    def _report(self, result: TransferResult, old: User) -> None:
        transfer, dry_run = result.transfer, result.dry_run
        write = self.stdout.write
        if dry_run:
            write(f"Dry run: nothing was changed. This is what would move from {old.username}:")
        else:
            write(
                self.style.SUCCESS(
                    f"Transfer #{transfer.pk} ({transfer.get_mode_display()}) "
                    f"from {transfer.from_user_name}:"
                )
            )
        recipients = result.recipients
        numbers = {}
        if dry_run:
            numbers = dict(linked_clients(user=old).values_list("pk", "number"))
        for recipient in recipients:
            username = recipient.to_user.username if recipient.to_user else "(deleted user)"
            write(f"  to {recipient.to_user_name} ({username}): {_counts(recipient)}")
            client_ids = result.client_ids.get(recipient.to_user_id)
            if dry_run and client_ids:
                listed = sorted(numbers.get(pk, str(pk)) for pk in client_ids)
                write("    clients: " + ", ".join(listed))
        write(f"Total: {_counts(transfer)}.")
        if transfer.deactivated_from_user:
            write(f"{old.username} {'would be' if dry_run else 'was'} deactivated.")
        if revoked := transfer.revoked_share_count:
            write(
                f"{revoked} share{'' if revoked == 1 else 's'} on other clients "
                f"{'would be' if dry_run else ('was' if revoked == 1 else 'were')} revoked."
            )
        if not dry_run:
            write(f"Receipt: transfer #{transfer.pk}")


def _counts(row) -> str:
    """ "3 clients, 2 matters, 1 cases, 0 shares": every count, as the command always wrote it."""
    counts = row.record_counts
    moved = [
        f"{count} {record_type.plural}"
        for record_type, count in counts.by_type()
        if count or record_type.counted_when_none
    ]
    return ", ".join([*moved, f"{counts.shares} shares"])
