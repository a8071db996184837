"""Benchmark: a Save above the background threshold on the reference load.

    make bench-background
    BENCH_DATABASE_URL=postgres://.../casengine_bench .venv/bin/python benchmarks/background.py

PostgreSQL, on the reference load that `make bench-transfer` builds (one user
owning 10,000 clients, 50,000 matters and 250,000 cases; database
casengine_bench on the server of DATABASE_URL, or BENCH_DATABASE_URL). It
signs in as bench.admin with Django's test client, posts User Transfer All of
everything the fuller of bench.old and bench.new holds to the other, and
prints how long the Save took (it must only check and queue). Then it starts
`manage.py db_worker --batch` in a subprocess and polls the progress page's
JSON from this process, printing each change of phase and counts with the
time since the worker started, while the worker's transaction is open, until
the page would show the receipt. The records end with the other user (a
second run moves them back).
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def database_url() -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    parts = urlsplit(os.environ.get("DATABASE_URL") or "postgres://root@127.0.0.1:5432")
    return urlunsplit((parts.scheme, parts.netloc, "/casengine_bench", "", ""))


def main() -> None:
    url = database_url()
    if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("This benchmark needs the PostgreSQL reference load (make bench-transfer).")
    os.environ.update(
        DATABASE_URL=url,
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-secret-key"),
        DEBUG="true",  # static files without collectstatic
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        DJANGO_SETTINGS_MODULE="casengine.settings",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client as HttpClient
    from django.urls import reverse

    from transfers.models import TransferJob
    from transfers.selectors import user_holdings
    from users.models import User

    call_command("migrate", verbosity=0, interactive=False)
    found = {u.username: u for u in User.objects.filter(username__startswith="bench.")}
    if not {"bench.old", "bench.new", "bench.admin"} <= set(found):
        sys.exit(f"No reference load in {url}: run `make bench-transfer` first.")
    old, new = found["bench.old"], found["bench.new"]
    if user_holdings(user=new).records > user_holdings(user=old).records:
        old, new = new, old
    holdings = user_holdings(user=old)
    print(
        f"{old.username} holds {holdings.clients:,} clients, {holdings.matters:,} matters, "
        f"{holdings.cases:,} cases, {holdings.shares:,} shares; threshold "
        f"{settings.TRANSFER_BACKGROUND_THRESHOLD:,} records"
    )
    http = HttpClient()
    http.force_login(found["bench.admin"])
    form_url = reverse("transfers:transfer_all", args=[old.pk])
    http.get(form_url)
    started = time.perf_counter()
    response = http.post(form_url, {"new_user": new.pk, "request_key": str(uuid.uuid4())})
    save_seconds = time.perf_counter() - started
    job = TransferJob.objects.filter(from_user=old).order_by("-pk").first()
    if response.status_code != 302 or job is None or response["Location"] != job.get_absolute_url():
        sys.exit(f"The Save was not queued (HTTP {response.status_code}).")
    print(
        f"Save (check and queue): {save_seconds * 1000:.0f} ms, HTTP 302 to {response['Location']}"
    )

    status_url = reverse("transfers:transfer_job_status", args=[job.pk])
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.DEVNULL,
    )
    started, last = time.perf_counter(), None
    while True:
        data = http.get(status_url).json()
        shown = (data["status"], data["phase"], data["moved"], data["share_count"])
        if shown != last:
            print(
                f"  +{time.perf_counter() - started:5.1f} s  {data['status']:8} "
                f"{data['phase'] or '-':8} clients {data['client_count']:>7,}  matters "
                f"{data['matter_count']:>7,}  cases {data['case_count']:>8,}  shares "
                f"{data['share_count']:>7,}  bar {data['moved']:,}/{data['total']:,}",
                flush=True,
            )
            last = shown
        if not data["active"]:
            break
        time.sleep(0.5)
    worker.wait()
    job.refresh_from_db()
    print(
        f"Job {job.get_status_display().lower()}: the worker ran it in "
        f"{(job.finished_at - job.started_at).total_seconds():.1f} s; its page now redirects to "
        f"{http.get(job.get_absolute_url()).get('Location')}"
    )
    sys.exit(0 if job.status == TransferJob.Status.DONE else 1)


if __name__ == "__main__":
    main()
