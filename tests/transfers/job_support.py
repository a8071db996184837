"""Running the background worker from a test."""

import signal

from django.core.management import call_command


def run_worker() -> None:
    """`manage.py db_worker --batch`: run every queued task, then return.
    The worker installs its own signal handlers; put the test runner's back."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command(
            "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval=0", verbosity=0
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
