"""make load (README, Performance): gunicorn with the production settings on a fresh database
(casengine_load, or LOAD_DATABASE_URL) under staff who browse and administrators who transfer
and revert, driven by locust; then the latency per kind of request (the percentiles of make
bench), the administrators' outcomes and the integrity of the data. Exits non-zero on a
server error, a lost session, an integrity violation or no transfer at all."""

import itertools
import os
import random
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict

import common
from common import percentile
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection
from locust import HttpUser, constant, events, task

PASSWORD, OWNERS = secrets.token_urlsafe(), {}
rng = random.Random(7)
run = {"samples": defaultdict(list), "errors": 0, "signed_out": 0, "outcomes": Counter()}
MOVED = "FROM transfers_transferredrecord WHERE record_type IN ('client', 'matter', 'case')"
INTEGRITY_CHECKS = {
    "records owned by an inactive user": """SELECT count(*) FROM (SELECT owner_id FROM
        clients_client UNION ALL SELECT owner_id FROM clients_matter UNION ALL SELECT owner_id
        FROM clients_case) r JOIN users_user u ON u.id = r.owner_id WHERE NOT u.is_active""",
    "records moved twice by one transfer": """SELECT count(*) FROM (SELECT 1 FROM
        transfers_transferredrecord GROUP BY transfer_id, record_type, record_id, permission_id
        HAVING count(*) > 1) d""",
    "receipts whose counts differ from their rows": """SELECT count(*) FROM transfers_transfer
        t LEFT JOIN (SELECT transfer_id, count(*) FILTER (WHERE record_type = 'client') AS cl,
        count(*) FILTER (WHERE record_type = 'matter') AS ma, count(*) FILTER (WHERE
        record_type = 'case') AS ca FROM transfers_transferredrecord GROUP BY transfer_id) r ON
        r.transfer_id = t.id WHERE (t.counts->>'client')::int <> coalesce(r.cl, 0) OR
        (t.counts->>'matter')::int <> coalesce(r.ma, 0) OR (t.counts->>'case')::int <>
        coalesce(r.ca, 0)""",
    "moves that did not start from the record's owner at the time": f"""SELECT count(*) FROM
        (SELECT from_user_id, lag(to_user_id) OVER (PARTITION BY record_type, record_id ORDER
        BY transfer_id) AS previous {MOVED}) m WHERE previous <> from_user_id""",
    "records whose last move does not end with their current owner": f"""SELECT count(*) FROM
        (SELECT DISTINCT ON (record_type, record_id) record_type, record_id, to_user_id {MOVED}
        ORDER BY record_type, record_id, transfer_id DESC) last
        LEFT JOIN clients_client c ON last.record_type = 'client' AND c.id = last.record_id
        LEFT JOIN clients_matter m ON last.record_type = 'matter' AND m.id = last.record_id
        LEFT JOIN clients_case k ON last.record_type = 'case' AND k.id = last.record_id
        WHERE coalesce(c.owner_id, m.owner_id, k.owner_id) <> last.to_user_id""",
}


@events.init_command_line_parser.add_listener
def options(parser):
    for name, default in (("server-workers", 4), ("staff", 6), ("admins", 3), ("owners", 8)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--clients-per-owner", type=int, default=200)


@events.init.add_listener
def serve(environment, **kwargs):
    """The database, its people and records, and gunicorn, before the first request."""
    options = environment.parsed_options
    options.num_users = options.spawn_rate = options.staff + options.admins
    Staff.fixed_count, Administrator.fixed_count = options.staff, options.admins
    insecure = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "DEBUG")
    os.environ.update(dict.fromkeys(insecure, "false"), SECURE_HSTS_SECONDS="0", CONN_MAX_AGE="0")
    os.environ.update(DJANGO_SETTINGS_MODULE="casengine.settings", ALLOWED_HOSTS="127.0.0.1")
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    common.django_setup("casengine_load", "LOAD_DATABASE_URL", fresh=True)
    from clients.demo import bulk_records_generate, bulk_users_ensure, demo_firm_seed
    from users.groups import ADMINISTRATORS, ATTORNEYS, MANAGERS

    call_command("collectstatic", interactive=False, verbosity=0)
    demo_firm_seed()
    password = make_password(PASSWORD)
    people = (ADMINISTRATORS, "admin", options.admins), (MANAGERS, "staff", options.staff)
    for group, kind, count in (*people, (ATTORNEYS, "owner", options.owners)):
        usernames = [f"load.{kind}{i}" for i in range(count)]
        for user in bulk_users_ensure(usernames, [group], password=password):
            if kind == "owner":
                bulk_records_generate(owners=[user], clients=options.clients_per_owner)
                OWNERS[user.username] = user.pk
    port = 8000 + secrets.randbelow(20000)
    Person.host, log = f"http://127.0.0.1:{port}", common.ROOT / "bench-results"
    command = [f"{os.path.dirname(sys.executable)}/gunicorn", "casengine.wsgi", "--timeout", "120"]
    command += ["--workers", str(options.server_workers), "--bind", f"127.0.0.1:{port}"]
    log.mkdir(exist_ok=True)
    with open(log / "load-gunicorn.log", "w") as output:
        run["server"] = subprocess.Popen(command, cwd=common.ROOT, stdout=output, stderr=output)
    for _ in range(100):
        try:
            urllib.request.urlopen(Person.host + "/login/", timeout=2)
            break
        except OSError:
            time.sleep(0.3)
    run["started"], run["load_before"] = time.monotonic(), os.getloadavg()


@events.request.add_listener
def keep(name, response_time, response, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    run["samples"][name].append(response_time / 1000)
    run["errors"] += status == 0 or status >= 500
    to_sign_in = status and response.headers.get("Location", "").startswith("/login/")
    run["signed_out"] += bool(to_sign_in) and not name.startswith("sign in")


@events.quitting.add_listener
def report(environment, **kwargs):
    elapsed, options = time.monotonic() - run["started"], environment.parsed_options
    run["server"].terminate()
    run["server"].wait(timeout=30)
    every = [seconds for values in run["samples"].values() for seconds in values]
    print(
        f"\nLoad: {options.staff} staff and {options.admins} administrators for {elapsed:.1f} s,"
        f" gunicorn with {options.server_workers} workers on {os.cpu_count()} cores, load "
        f"average {run['load_before'][0]:.2f} before / {os.getloadavg()[0]:.2f} after\n"
        f"Requests: {len(every):,} ({len(every) / elapsed:.1f} per second), errors (5xx or no "
        f"answer): {run['errors']}, sent back to sign-in: {run['signed_out']}\n"
        f"{'request':<34} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    for kind, values in sorted(run["samples"].items()) + [("every request", every)]:
        figures = " ".join(f"{percentile(values, p) * 1000:>8.1f}" for p in (0.5, 0.95, 0.99))
        print(f"{kind:<34} {len(values):>7} {figures}")
    outcomes = run["outcomes"]
    print("Administrators' outcomes:", ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    print("Integrity:")
    with connection.cursor() as cursor:
        for name, query in INTEGRITY_CHECKS.items():
            cursor.execute(query)
            run[name] = cursor.fetchone()[0]
            print(f"  {name}: {run[name]}")
    violations = sum(run[name] for name in INTEGRITY_CHECKS)
    print(f"Integrity violations: {violations}")
    failed = run["errors"] or violations or run["signed_out"] or not outcomes["transferred"]
    environment.process_exit_code = 1 if failed else 0


class Person(HttpUser):
    abstract, wait_time = True, constant(0)

    def on_start(self):
        username = f"{self.prefix}{next(self.numbers)}"
        form = self.get("sign-in page", "/login/")[2]
        data = self.hidden(form) | {"username": username, "password": PASSWORD}
        if self.get("sign in", "/login/", data)[0] != 302:
            raise RuntimeError(f"signing in as {username} failed")

    def get(self, kind: str, path: str, data=None, follow=False) -> tuple[int, str, str]:
        """(status, path, text) of a GET, or a POST of `data`; `follow`: redirects too."""
        method, headers = "GET" if data is None else "POST", {"Referer": self.host + "/"}
        response = self.client.request(
            method, path, name=kind, data=data, headers=headers, allow_redirects=False
        )
        for _ in range(5 * follow):
            if response.status_code not in (301, 302, 303):
                break
            path = response.headers["Location"]
            response = self.client.get(path, name=f"{kind} (redirect)", allow_redirects=False)
        return response.status_code, path, response.text

    @staticmethod
    def hidden(page: str) -> dict[str, str]:
        return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))

    @staticmethod
    def link(page: str, text: str) -> str | None:
        found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>\s*{text}\s*</a>', page)
        return found and found.group(1)


class Staff(Person):
    prefix, numbers = "load.staff", itertools.count()

    @task
    def browse(self):
        grid = rng.choice(["/clients/", "/matters/", "/cases/"])
        query = rng.choice(
            [
                "",
                f"owner={rng.choice(list(OWNERS.values()))}",
                f"status={rng.choice(['open', 'closed', 'active'])}",
                f"q={rng.choice(['Client+1', 'Holdings', 'v.'])}",
                f"sort={rng.choice(['number', '-number', 'owner'])}&page={rng.randint(1, 5)}",
            ]
        )
        status, _, page = self.get(f"GET {grid}", f"{grid}?{query}")
        records = re.findall(r'href="(/(?:clients|matters|cases)/\d+/)"', page)
        if status == 200 and rng.random() < 0.3 and records:
            self.get("GET record page", rng.choice(records))


class Administrator(Person):
    prefix, numbers = "load.admin", itertools.count()

    @task
    def transfer(self):
        run["outcomes"][self.transfer_outcome()] += 1

    def transfer_outcome(self) -> str:
        """Find an owner in User Registration; open its User Transfer, or save its User
        Transfer All to one of the form's new users and revert one in four."""
        query = f"/settings/users/?q={rng.choice(list(OWNERS))}"
        status, _, page = self.get("GET User Registration", query)
        mode = "User Transfer All" if rng.random() < 0.6 else "User Transfer"
        if status != 200 or not (href := self.link(page, mode)):
            return f"User Registration answered {status}" if status != 200 else f"no {mode} link"
        status, path, page = self.get(f"GET {mode}", href, follow=True)
        select = re.search(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S)
        if status == 200 and mode == "User Transfer":  # not saved: new users typed per client
            return "User Transfer opened"
        if status != 200 or not select:
            return f"{mode} answered {status} without its form"
        choice = rng.choice(re.findall(r'<option value="(\d+)"', select.group(2)))
        data = self.hidden(page) | {select.group(1): choice}
        status, landed, page = self.get(f"POST {mode}", path, data, follow=True)
        if status >= 500 or status == 0:
            return "server error"
        if status != 200 or not re.fullmatch(r"/settings/transfers/\d+/", landed):
            return "refused (shown on the form)"
        if rng.random() < 0.25:
            run["outcomes"][self.revert_outcome(self.link(page, "Revert"))] += 1
        return "transferred"

    def revert_outcome(self, href: str | None) -> str:
        if href is None:
            return "receipt without a Revert link"
        _, _, page = self.get("GET revert", href, follow=True)
        # The page's first POST form is the header's Log out: take Revert's.
        if not (action := re.search(r'<form [^>]*action="([^"]+/revert/)"', page)):
            return "revert page without its form"
        status, _, page = self.get("POST revert", action.group(1), self.hidden(page), follow=True)
        if status != 200:
            return f"revert answered {status}"
        return "reverted" if "<dt>Reverts</dt>" in page else "revert refused (shown on the page)"
