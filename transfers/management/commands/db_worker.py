"""`manage.py db_worker`: django-tasks' database worker, which also ends the
transfer jobs whose worker died (transfers.background.reaper): once at start,
then every TRANSFER_JOB_REAP_INTERVAL seconds in a thread of its own, so that
a long transfer in this worker does not hold the reaping back."""

from django_tasks_db.management.commands import db_worker

from transfers.background.reaper import Reaper


class Command(db_worker.Command):
    help = db_worker.Command.help + ", ending transfer jobs whose worker died"

    def handle(self, *args, **options) -> None:
        reaper = Reaper()
        reaper.start()
        try:
            super().handle(*args, **options)
        finally:
            reaper.stop()
