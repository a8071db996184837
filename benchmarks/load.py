"""Load test: CaseEngine under gunicorn on PostgreSQL, with staff browsing the
grids while administrators transfer different users' records at the same time.

    make load                      # defaults: 30 s, 4 workers, 6 staff, 3 administrators
    .venv/bin/python benchmarks/load.py --duration 60 --workers 4

It builds a fresh database (DATABASE_URL, default casengine_load on the local
PostgreSQL server), serves the app with gunicorn on a free loopback port,
drives it with a bounded number of client threads for a fixed time, prints
requests per second, latency percentiles and errors, then checks the data:
no record owned by an inactive user, receipts that match what moved, no record
moved twice by one transfer, and every record's history of moves chaining
from owner to owner up to its current owner. Exits non-zero on any error or
integrity violation.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "load-test-password"
DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/casengine_load"


# ---------------------------------------------------------------- HTML forms


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    selects: dict[str, list[str]] = field(default_factory=dict)
    checkboxes: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, text


class PageParser(HTMLParser):
    """Collects links (href, text) and forms with their fields."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.forms: list[Form] = []
        self._link: list | None = None
        self._select: str | None = None
        self._button: list | None = None
        self._summaries: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self._link = [attrs["href"], ""]
        elif tag == "form":
            self.forms.append(
                Form(attrs.get("action") or "", (attrs.get("method") or "get").lower())
            )
        elif not self.forms:
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            name = attrs.get("name")
            if not name:
                return
            if kind == "checkbox":
                self.forms[-1].checkboxes[name] = attrs.get("value", "on")
                if "checked" in attrs:
                    self.forms[-1].fields.append((name, attrs.get("value", "on")))
            elif kind in {"submit", "button"}:
                self.forms[-1].buttons.append(
                    (name, attrs.get("value", ""), attrs.get("value", ""))
                )
            else:
                self.forms[-1].fields.append((name, attrs.get("value", "")))
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self.forms[-1].selects[self._select] = []
        elif tag == "option" and self._select is not None:
            self.forms[-1].selects[self._select].append(attrs.get("value", ""))
        elif tag == "button":
            self._button = [attrs.get("name", ""), attrs.get("value", ""), ""]

    def handle_endtag(self, tag):
        if tag == "a" and self._link is not None:
            self.links.append((self._link[0], self._link[1].strip()))
            self._link = None
        elif tag == "select":
            self._select = None
        elif tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(tuple(self._button))
            self._button = None

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data
        if self._button is not None:
            self._button[2] += data.strip()


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


# ---------------------------------------------------------------- HTTP client


class NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Sample:
    kind: str
    seconds: float
    status: int


class Browser:
    """A signed-in person: cookies, CSRF, redirects followed by hand."""

    def __init__(self, base: str, samples: list[Sample], lock: threading.Lock):
        self.base = base
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar), NoRedirect())
        self.samples = samples
        self.lock = lock
        self.signed_out = 0  # requests sent back to the sign-in page

    def request(
        self, kind: str, path: str, data: dict | list | None = None
    ) -> tuple[int, str, str]:
        url = urljoin(self.base, path)
        body = urlencode(data, doseq=True).encode() if data is not None else None
        headers = {"Referer": self.base + "/"}
        started = time.perf_counter()
        status, location, text = 0, "", ""
        try:
            response = self.opener.open(Request(url, data=body, headers=headers), timeout=60)
            status, text = response.status, response.read().decode()
        except HTTPError as error:
            status, location = error.code, error.headers.get("Location", "")
            text = error.read().decode(errors="replace")
        except (URLError, TimeoutError, ConnectionError):
            status = 0
        elapsed = time.perf_counter() - started
        if status in (301, 302) and location.startswith("/login/") and path != "/login/":
            self.signed_out += 1
        with self.lock:
            self.samples.append(Sample(kind, elapsed, status))
        return status, location, text

    def follow(self, kind: str, path: str, data=None) -> tuple[int, str, str]:
        status, location, text = self.request(kind, path, data)
        hops = 0
        while status in (301, 302, 303) and location and hops < 5:
            path = urlsplit(urljoin(self.base, location)).path + (
                "?" + urlsplit(location).query if urlsplit(location).query else ""
            )
            status, location, text = self.request(kind + " (redirect)", path)
            hops += 1
        return status, path, text

    def sign_in(self, username: str) -> None:
        status, _, text = self.request("sign-in page", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
        if status != 200 or token is None:
            raise RuntimeError(f"sign-in page answered {status}")
        status, location, _ = self.request(
            "sign in",
            "/login/",
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
        )
        if status != 302:
            raise RuntimeError(f"signing in as {username} answered {status}")


# ---------------------------------------------------------------- people


def staff_session(browser: Browser, deadline: float, rng: random.Random, owner_ids: list[int]):
    grids = ["/clients/", "/matters/", "/cases/"]
    while time.monotonic() < deadline:
        grid = rng.choice(grids)
        query = rng.choice(
            [
                {},
                {"owner": rng.choice(owner_ids)},
                {"status": rng.choice(["open", "closed", "active"])},
                {"q": rng.choice(["Client 1", "Holdings", "v."])},
                {"sort": rng.choice(["number", "-number", "owner"]), "page": rng.randint(1, 5)},
            ]
        )
        status, _, text = browser.request(f"GET {grid}", grid + "?" + urlencode(query))
        if status == 200 and rng.random() < 0.3:
            links = [
                h for h, _ in parse(text).links if re.fullmatch(r"/(clients|matters|cases)/\d+/", h)
            ]
            if links:
                browser.request("GET record page", rng.choice(links))


def _submit(browser: Browser, form: Form, overrides: dict[str, str], page_path: str, kind: str):
    data = [(name, value) for name, value in form.fields if name not in overrides]
    data.extend(overrides.items())
    pressed = [b for b in form.buttons if b[2] in ("Save", "Revert")] or form.buttons[-1:]
    if pressed and pressed[0][0]:
        data.append((pressed[0][0], pressed[0][1]))
    action = form.action or page_path
    return browser.follow(kind, action, data)


def administrator_session(
    browser: Browser, deadline: float, rng: random.Random, usernames: list[str], outcomes: Counter
):
    while time.monotonic() < deadline:
        old_username = rng.choice(usernames)
        status, _, text = browser.request(
            "GET User Registration", "/settings/users/?" + urlencode({"q": old_username})
        )
        if status != 200:
            outcomes[f"User Registration answered {status}"] += 1
            continue
        links = dict((label, href) for href, label in parse(text).links)
        mode = "User Transfer All" if rng.random() < 0.6 else "User Transfer"
        href = links.get(mode)
        if href is None:
            outcomes[f"no {mode} link"] += 1
            continue
        status, page_path, text = browser.follow(f"GET {mode}", href)
        page = parse(text)
        forms = [f for f in page.forms if f.method == "post" and f.selects]
        if status == 200 and not forms and "No client is linked to" in text:
            outcomes["nothing linked (User Transfer has no rows)"] += 1
            continue
        if status != 200 or not forms:
            outcomes[f"{mode} form missing"] += 1
            continue
        form = forms[0]
        overrides = {}
        for name, options in form.selects.items():
            options = [o for o in options if o]
            if options:
                overrides[name] = rng.choice(options)
        status, landed, text = _submit(browser, form, overrides, page_path, f"POST {mode}")
        if status >= 500 or status == 0:
            outcomes["server error"] += 1
        elif status == 200 and re.fullmatch(r"/settings/transfers/\d+/", landed):
            outcomes["transferred"] += 1
            if rng.random() < 0.25:
                revert_page = [h for h, label in parse(text).links if label == "Revert"]
                if not revert_page:
                    outcomes["receipt without a Revert link"] += 1
                else:
                    status, confirm_path, confirm = browser.follow("GET revert", revert_page[0])
                    # The page's first POST form is the header's Log out: take Revert's.
                    confirm_forms = [
                        f
                        for f in parse(confirm).forms
                        if f.method == "post" and f.action.endswith("/revert/")
                    ]
                    if not confirm_forms:
                        outcomes["revert page without its form"] += 1
                    else:
                        status, _, text = _submit(
                            browser, confirm_forms[0], {}, confirm_path, "POST revert"
                        )
                        if status == 200 and "<dt>Reverts</dt>" in text:
                            outcomes["reverted"] += 1
                        elif status == 200:
                            outcomes["revert refused (shown on the page)"] += 1
                        else:
                            outcomes[f"revert answered {status}"] += 1
        else:
            outcomes["refused (shown on the form)"] += 1


# ---------------------------------------------------------------- set-up


def run(command: list[str], env: dict, quiet: bool = True) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def database_reset(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


PEOPLE_SCRIPT = """
from django.contrib.auth.models import Group
from clients.demo import bulk_records_generate
from users.models import User
password = {password!r}
for index in range({admins}):
    user, _ = User.objects.get_or_create(username=f"load.admin{{index}}",
        defaults={{"first_name": "Load", "last_name": f"Admin {{index}}"}})
    user.set_password(password); user.save()
    user.groups.add(Group.objects.get(name="Administrators"))
for index in range({staff}):
    user, _ = User.objects.get_or_create(username=f"load.staff{{index}}",
        defaults={{"first_name": "Load", "last_name": f"Staff {{index}}"}})
    user.set_password(password); user.save()
    user.groups.add(Group.objects.get(name="Managers"))
for index in range({owners}):
    user, _ = User.objects.get_or_create(username=f"load.owner{{index}}",
        defaults={{"first_name": "Owner", "last_name": f"Number {{index}}"}})
    user.set_password(password); user.save()
    user.groups.add(Group.objects.get(name="Attorneys"))
    bulk_records_generate(owner=user, clients={clients_per_owner})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            sys.exit("gunicorn stopped while starting; see its log above")
        try:
            build_opener().open(base + "/login/", timeout=2)
            return
        except HTTPError:
            return
        except (URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit("gunicorn did not answer in time")


# ---------------------------------------------------------------- integrity


INTEGRITY_CHECKS = {
    "records owned by an inactive user": """
        SELECT count(*) FROM (
            SELECT owner_id FROM clients_client UNION ALL
            SELECT owner_id FROM clients_matter UNION ALL
            SELECT owner_id FROM clients_case) records
        JOIN users_user u ON u.id = records.owner_id WHERE NOT u.is_active
    """,
    "records moved twice by one transfer": """
        SELECT count(*) FROM (
            SELECT 1 FROM transfers_transferredrecord
            GROUP BY transfer_id, record_type, record_id, permission_id HAVING count(*) > 1) dup
    """,
    "receipts whose counts differ from their rows": """
        SELECT count(*) FROM transfers_transfer t
        LEFT JOIN (
            SELECT transfer_id,
                   count(*) FILTER (WHERE record_type = 'client') AS clients,
                   count(*) FILTER (WHERE record_type = 'matter') AS matters,
                   count(*) FILTER (WHERE record_type = 'case') AS cases
            FROM transfers_transferredrecord GROUP BY transfer_id) r ON r.transfer_id = t.id
        WHERE t.client_count <> coalesce(r.clients, 0)
           OR t.matter_count <> coalesce(r.matters, 0)
           OR t.case_count <> coalesce(r.cases, 0)
    """,
    "moves that did not start from the record's owner at the time": """
        SELECT count(*) FROM (
            SELECT from_user_id,
                   lag(to_user_id) OVER (PARTITION BY record_type, record_id ORDER BY transfer_id)
                       AS previous_owner
            FROM transfers_transferredrecord
            WHERE record_type IN ('client', 'matter', 'case')) moves
        WHERE previous_owner IS NOT NULL AND previous_owner <> from_user_id
    """,
    "records whose last move does not end with their current owner": """
        SELECT count(*) FROM (
            SELECT DISTINCT ON (record_type, record_id) record_type, record_id, to_user_id
            FROM transfers_transferredrecord
            WHERE record_type IN ('client', 'matter', 'case')
            ORDER BY record_type, record_id, transfer_id DESC) last_move
        LEFT JOIN clients_client c
            ON last_move.record_type = 'client' AND c.id = last_move.record_id
        LEFT JOIN clients_matter m
            ON last_move.record_type = 'matter' AND m.id = last_move.record_id
        LEFT JOIN clients_case k
            ON last_move.record_type = 'case' AND k.id = last_move.record_id
        WHERE coalesce(c.owner_id, m.owner_id, k.owner_id) <> last_move.to_user_id
    """,
}


def integrity_report(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as connection:
        return {
            name: connection.execute(query).fetchone()[0]
            for name, query in INTEGRITY_CHECKS.items()
        }


# ---------------------------------------------------------------- main


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=30, help="seconds of load (default 30)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--staff", type=int, default=6, help="staff browsing grids (default 6)")
    parser.add_argument(
        "--admins", type=int, default=3, help="administrators transferring (default 3)"
    )
    parser.add_argument("--owners", type=int, default=8, help="users owning records (default 8)")
    parser.add_argument(
        "--clients-per-owner",
        type=int,
        default=200,
        help="clients each owner starts with (default 200)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("The load test runs on PostgreSQL: give --database-url postgres://...")

    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        DEBUG="false",
        SECRET_KEY="load-test-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        LOG_LEVEL="WARNING",
    )
    print(f"Preparing {args.database_url} ...", flush=True)
    database_reset(args.database_url)
    run([PYTHON, "manage.py", "migrate", "--noinput"], env)
    run([PYTHON, "manage.py", "collectstatic", "--noinput"], env)
    run([PYTHON, "manage.py", "seed_demo"], env)
    run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            PEOPLE_SCRIPT.format(
                password=PASSWORD,
                admins=args.admins,
                staff=args.staff,
                owners=args.owners,
                clients_per_owner=args.clients_per_owner,
            ),
        ],
        env,
    )
    with psycopg.connect(args.database_url) as connection:
        owner_ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM users_user WHERE username LIKE 'load.owner%%' ORDER BY id"
            )
        ]
        before = connection.execute(
            "SELECT (SELECT count(*) FROM clients_client), (SELECT count(*) FROM clients_matter),"
            " (SELECT count(*) FROM clients_case)"
        ).fetchone()
    print(f"Data: {before[0]:,} clients, {before[1]:,} matters, {before[2]:,} cases.", flush=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = ROOT / "bench-results" / "load-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "casengine.wsgi",
                "--workers",
                str(args.workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
                "--error-logfile",
                "-",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(base, server)
        samples: list[Sample] = []
        lock = threading.Lock()
        outcomes: Counter = Counter()
        rng = random.Random(args.seed)
        usernames = [f"load.owner{i}" for i in range(args.owners)]
        staff_browsers, admin_browsers = [], []
        for index in range(args.staff):
            staff_browsers.append(Browser(base, samples, lock))
            staff_browsers[-1].sign_in(f"load.staff{index}")
        for index in range(args.admins):
            admin_browsers.append(Browser(base, samples, lock))
            admin_browsers[-1].sign_in(f"load.admin{index}")
        load_before = os.getloadavg()
        start = time.monotonic()
        deadline = start + args.duration
        threads = [
            threading.Thread(
                target=staff_session,
                args=(browser, deadline, random.Random(rng.random()), owner_ids),
            )
            for browser in staff_browsers
        ] + [
            threading.Thread(
                target=administrator_session,
                args=(browser, deadline, random.Random(rng.random()), usernames, outcomes),
            )
            for browser in admin_browsers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    latencies = [s.seconds * 1000 for s in samples]
    errors = [s for s in samples if s.status == 0 or s.status >= 500]
    by_kind = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample.seconds * 1000)
    print()
    print(
        f"Load: {args.staff} staff and {args.admins} administrators for {elapsed:.1f} s, "
        f"gunicorn with {args.workers} workers on {os.cpu_count()} cores"
    )
    print(f"Requests: {len(samples):,}  ({len(samples) / elapsed:.1f} per second)")
    print(
        f"Latency ms: p50 {percentile(latencies, 0.50):.1f}  "
        f"p95 {percentile(latencies, 0.95):.1f}  "
        f"p99 {percentile(latencies, 0.99):.1f}  max {max(latencies):.1f}"
    )
    print(f"Errors (5xx or no answer): {len(errors)}")
    signed_out = sum(b.signed_out for b in staff_browsers + admin_browsers)
    print(f"Requests sent back to sign-in (session lost): {signed_out}")
    print(
        "Load average (1, 5, 15 min) before: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(f"{'request':<34} {'count':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, values in sorted(by_kind.items()):
        print(
            f"{kind:<34} {len(values):>7} {statistics.median(values):>8.1f} "
            f"{percentile(values, 0.95):>8.1f}"
        )
    print(
        "Administrators' outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))
    )

    report = integrity_report(args.database_url)
    print("\nIntegrity:")
    for name, count in report.items():
        print(f"  {name}: {count}")
    violations = sum(report.values())
    print(f"Integrity violations: {violations}")
    return 1 if errors or violations or signed_out or not outcomes.get("transferred") else 0


if __name__ == "__main__":
    sys.exit(main())
