"""What bench/audit_reads.py and bench/pages_gunicorn.py share (the leading underscore keeps it out of
``make bench``): the databases of bench/load.py (reused, or seeded by it), gunicorn started and stopped,
hosts signed in through the real login form, their read requests, ``wrk``, and the machine's description.

The data set is bench/load.py's: ``tincay_load`` (1,000,000 cases) or ``tincay_load_<N>``, with its keys,
accounts (``load_host_NNN``, one host per trusted address, TOTP secrets) and search samples in
``bench/tmp/load-<database>/`` beside this worktree. Seed it once with ``python -m bench.load --cases N
--seed-only`` (1,000,000 cases: about 15 minutes of CPU), or let the benchmark seed it when it is missing.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from bench import load

ROOT = load.ROOT
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/([A-Za-z0-9_-]{10,32})"')
NEXT_LINK = re.compile(r'href="/cases\?after=([A-Za-z0-9_-]+)"')


# --- the data set ---------------------------------------------------------------------------------------


@dataclass
class DataSet:
    cases: int
    database: str
    url: str
    state: Path
    env: dict[str, str]  # the production settings of bench/load.py
    plan: dict
    redis_url: str | None


def data_set(cases: int, users: int = 50) -> DataSet:
    """bench/load.py's database of ``cases`` cases, seeded now if it is not there."""
    try:
        load._admin_connect().close()
    except Exception as e:  # noqa: BLE001 - say why and stop: these benchmarks are about PostgreSQL
        raise SystemExit(f"PostgreSQL does not answer at {load.SERVER} ({type(e).__name__}): not run.") from e
    database = load._database(cases)
    url = f"{load.SERVER}/{database}"
    state = load.TMP / f"load-{database}"
    redis_url = load.REDIS if load._redis_ok(load.REDIS) else None
    env = load.app_env(state, url, redis_url)
    plan, _seeded = load.data_set_plan(state, url, cases, users, env)
    return DataSet(cases, database, url, state, env, plan, redis_url)


# --- gunicorn -------------------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: object = field(repr=False)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()  # type: ignore[attr-defined]


def gunicorn(env: dict[str, str], workers: int, log_file: Path, root: Path = ROOT, threads: int = 1,
             app: str = "wsgi:app") -> Server:
    """gunicorn serving ``app`` (the app of the tree ``root``, this checkout by default) on a free local port:
    ``workers`` sync workers, or with ``threads`` > 1 that many threads in each (gunicorn's gthread workers)."""
    port = load._free_port()
    log = log_file.open("ab")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers),  # noqa: S603
                                *load.worker_model(threads),
                                "--bind", f"127.0.0.1:{port}", "--timeout", "600", "--log-level", "warning",
                                app], cwd=root, env=env, stdout=log, stderr=log)
    try:
        load._wait_for(port, process)
    except BaseException:
        process.kill()
        log.close()
        raise
    return Server(port, process, log)


def chainer(env: dict[str, str], log_file: Path) -> subprocess.Popen:
    """``flask audit chainer``, the production chainer service (docs/operations.md §3)."""
    log = log_file.open("ab")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "chainer"],  # noqa: S603
                            cwd=ROOT, env=env, stdout=log, stderr=log)


# --- HTTP -----------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str
    cookies: dict[str, str]
    location: str
    ms: float


def fetch(port: int, method: str, path: str, cookie: str = "", form: list[tuple[str, str]] | None = None) -> Answer:
    """One request on a new connection (gunicorn's sync workers close every connection), timed from the
    connection to the last byte of the body."""
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    ms = (time.perf_counter() - started) * 1000
    cookies = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            cookies[key.strip()] = val.strip()
    return Answer(response.status, data.decode("utf-8", "replace"), cookies, response.getheader("Location") or "", ms)


@dataclass
class Host:
    """A host signed in through the login form: her session cookie, a CSRF token of that session, the case
    ids and the next-page cursor of her first list page, and search samples of her own address."""

    username: str
    cookie: str
    csrf: str
    case_ids: list[str]
    cursor: str | None
    samples: list[dict]


def wait_for_fresh_totp_step(ds: DataSet) -> None:
    """Wait until the TOTP step is later than the last one a benchmark used on this data set (a replayed code
    is refused and counts as a failed sign-in)."""
    step_file = ds.state / "last-step"
    if step_file.exists():
        last = int(step_file.read_text())
        while int(time.time() // 30) <= last:
            time.sleep(1)


def sign_in(port: int, account: dict, cookie_name: str = "tincay") -> Host:
    import pyotp

    for _attempt in range(3):
        page = fetch(port, "GET", "/login")
        jar = dict(page.cookies)
        token = CSRF.search(page.body)
        code = pyotp.TOTP(account["secret"]).now()
        done = fetch(port, "POST", "/login", "; ".join(f"{k}={v}" for k, v in jar.items()), [
            ("username", account["username"]), ("password", account["password"]), ("totp", code),
            ("csrf_token", token.group(1) if token else "")])
        jar.update(done.cookies)
        if done.status == 302 and cookie_name in jar:
            cookie = f"{cookie_name}={jar[cookie_name]}"
            listing = fetch(port, "GET", "/cases", cookie)
            if listing.status != 200:
                raise RuntimeError(f"{account['username']}: the case list answered {listing.status}")
            if cookie_name in listing.cookies:  # kept, as a browser keeps it: later pages send the newer cookie
                cookie = f"{cookie_name}={listing.cookies[cookie_name]}"
            csrf = CSRF.search(listing.body)
            following = NEXT_LINK.search(listing.body)
            return Host(account["username"], cookie, csrf.group(1) if csrf else "",
                        list(dict.fromkeys(CASE_LINK.findall(listing.body))), following.group(1) if following else None,
                        account["samples"])
        # A TOTP code is accepted once per 30-second step and account: an earlier run may have used this one.
        time.sleep(31 - time.time() % 30)
    raise RuntimeError(f"{account['username']} could not sign in ({done.status})")


def signed_in_host(ds: DataSet, log_name: str) -> Host:
    """The data set's first host, signed in through the login form of a short-lived gunicorn (one worker, no
    chainer), for a benchmark that then makes its requests in its own process (``app_in_process``)."""
    server = gunicorn({**ds.env, "TINCAY_AUDIT_CHAINER": "off"}, 1, ds.state / log_name)
    try:
        wait_for_fresh_totp_step(ds)
        host = sign_in(server.port, ds.plan["accounts"][0])
        note_totp_step(ds)
    finally:
        server.stop()
    if not host.case_ids:
        raise SystemExit(f"{host.username} has no case in her list")
    return host


def app_in_process(ds: DataSet):
    """The app built in this process with the data set's production settings and warmed as ``wsgi.py`` warms
    it; no background thread (chainer, deadline sweep) and only warnings logged."""
    import logging

    os.environ.update({k: v for k, v in ds.env.items() if k.startswith("TINCAY_")})
    os.environ.update(TINCAY_AUDIT_CHAINER="off", TINCAY_NOTIFY_SWEEP_SECONDS="0")
    from casework import create_app
    from casework.warm import warm_up

    app = create_app()
    warm_up(app)
    logging.getLogger("casework").setLevel(logging.WARNING)
    return app


def intake_form(account: dict, token: str, name: str, rng, intake_at) -> list[tuple[str, str]]:
    """The intake form as a host completes it (bench/load.py's users and the recorded case of
    bench/pages_gunicorn.py): ``intake_at`` local time, a random phone, year of birth, acts and threat."""
    acts = sorted(rng.sample(["a", "b", "c", "e", "g", "h"], rng.randint(1, 3)))
    data = [
        ("csrf_token", token), ("address_id", account["address_id"]),
        ("intake_at", intake_at.strftime("%Y-%m-%dT%H:%M")), ("arrival", "came_alone"),
        ("full_name", name), ("sex", "female"),
        ("birth_year", str(rng.randint(1965, 2005))), ("age_band", "unknown"), ("ethnicity_code", "01"),
        ("phone", f"09{rng.randrange(10**8):08d}"), ("home_commune_code", account["commune_code"]),
        ("children_count", "1"), ("children_ages", "4"), *[("acts", a) for a in acts],
        ("relationship", "spouse"), ("perpetrator_sex", "male"), ("perpetrator_age_band", "30_44"),
        ("injuries", "Vết bầm ở tay"), ("safety_plan", "Ngủ lại ĐCTC"), ("consent_record", "y"),
        ("consent_statistics", "y"), ("consent_given_by", "self"), ("narrative", "Chị đến lúc tối."),
    ]
    if rng.random() < 0.3:
        data.append(("risk_threat_to_kill", "y"))
    return data


def record_intake(port: int, host: Host, account: dict, name: str, rng) -> str:
    """One intake through the form, as a host records it; the new case's id. Its case has what every recorded
    case has and the seeded ones lack: her consents and the timeline's entries."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    form = fetch(port, "GET", "/cases/new", host.cookie)
    token = CSRF.search(form.body)
    intake_at = datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    saved = fetch(port, "POST", "/cases/new", host.cookie,
                  intake_form(account, token.group(1) if token else "", name, rng, intake_at))
    found = re.search(r"/cases/([A-Za-z0-9_-]{10,32})$", saved.location)
    if saved.status != 302 or not found:
        raise RuntimeError(f"the intake answered {saved.status}")
    return found.group(1)


def note_totp_step(ds: DataSet) -> None:
    """Record the TOTP step just used, in the file bench/load.py's Locust reads before its users sign in: a
    code is accepted once per 30-second step and account, so the load test waits for a later step."""
    step_file = ds.state / "last-step"
    last = int(step_file.read_text()) if step_file.exists() else 0
    step_file.write_text(str(max(last, int(time.time() // 30))))


def read_requests(host: Host, views: int = 8) -> list[tuple[str, str, str]]:
    """A host's reads, weighted as bench/load.py's users do (lists 4 : views 4 : searches 2): (method, path,
    urlencoded body)."""
    lists = [("GET", "/cases", "")] * 2
    if host.cursor:
        lists += [("GET", f"/cases?after={host.cursor}", "")] * 2
    else:
        lists *= 2
    views_ = [("GET", f"/cases/{cid}", "") for cid in host.case_ids[:views]]
    searches = []
    for sample in host.samples[:4]:
        searches.append(("POST", "/cases/search", urlencode({"q": sample["name"], "csrf_token": host.csrf})))
        phone = sample["phone"]
        searches.append(("POST", "/cases/search",
                         urlencode({"q": f"{phone[:4]} {phone[4:7]} {phone[7:]}", "csrf_token": host.csrf})))
    # 4 : 4 : 2 over one cycle of ``len(views_)`` views.
    n = max(1, len(views_))
    cycle = [lists[i % len(lists)] for i in range(n)] + views_ + [searches[i % len(searches)] for i in range(n // 2)]
    return cycle


# --- wrk ------------------------------------------------------------------------------------------------


def wrk_available() -> str | None:
    return shutil.which("wrk")


def wrk_script(path: Path, requests: list[tuple[str, str, str, str]]) -> None:
    """A Lua script cycling through (cookie, method, path, body) requests, each wrk thread from its own start."""

    def q(text: str) -> str:
        if any(c in text for c in '"\\\n\r'):
            raise ValueError("unexpected character in a request")
        return f'"{text}"'

    rows = []
    for cookie, method, target, body in requests:
        headers = f'{{["Cookie"] = {q(cookie)}' + (
            ', ["Content-Type"] = "application/x-www-form-urlencoded"' if body else "") + "}"
        rows.append(f"  {{{q(method)}, {q(target)}, {headers}, {q(body) if body else 'nil'}}},")
    path.write_text("\n".join([
        "local plan = {", *rows, "}",
        "local built = {}",
        "local i = 0",
        "local counter = 1",
        "setup = function(thread) i = i + 1; thread:set('start', i * 7919) end",
        "init = function(args)",
        "  for k, r in ipairs(plan) do built[k] = wrk.format(r[1], r[2], r[3], r[4]) end",
        "  counter = (start or 0) % #built",
        "end",
        "request = function()",
        "  counter = counter % #built + 1",
        "  return built[counter]",
        "end",
        "",
    ]), encoding="utf-8")


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(port: int, script: Path, connections: int, seconds: float, threads: int = 2) -> dict:
    """Run wrk; returns requests, requests per second, latency percentiles (ms) and errors (non-2xx/3xx
    answers, socket errors)."""
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",  # noqa: S603,S607
                          "--timeout", "60s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    result: dict = {"raw": out}
    found = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if not found:
        raise RuntimeError(f"wrk printed no total:\n{out}")
    result["requests"] = int(found.group(1))
    result["seconds"] = _ms(found.group(2), found.group(3)) / 1000
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s|m)\b", out)
        result[f"p{pct}"] = _ms(m.group(1), m.group(2)) if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    # A read error on a closed connection is how wrk sees gunicorn's sync workers close after each answer;
    # connect errors and timeouts are failures.
    result["socket_errors"] = (int(sockets.group(1)) + int(sockets.group(4))) if sockets else 0
    return result


# --- the machine ----------------------------------------------------------------------------------------


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S607
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine() -> str:
    return load._machine() + f", Python {platform.python_version()}"


def versions(url: str) -> str:
    from importlib.metadata import version

    pg, gunicorn_version, _ = load._versions(url)
    if shutil.which("wrk") is None:  # only bench/audit_reads.py needs it; say so rather than fail the report
        wrk_version = "wrk not installed (apt-get install wrk)"
    else:
        wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
        wrk_version = (wrk.stdout or wrk.stderr).split("[", 1)[0].strip() or "wrk ?"
    return f"PostgreSQL {pg}, gunicorn {gunicorn_version}, {wrk_version}, Flask {version('flask')}"


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by these processes and their children still alive (gunicorn's workers)."""
    total = 0
    wanted = set(pids)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        ppid, ticks = load_ticks(int(entry.name))
        if int(entry.name) in wanted or ppid in wanted:
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def load_ticks(pid: int) -> tuple[int, int]:
    """(ppid, utime + stime in ticks) of a process, or (-1, 0) when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1, 0
    return int(fields[1]), int(fields[11]) + int(fields[12])


# --- the results file -----------------------------------------------------------------------------------


def section_head(title: str, command: str, started: datetime, ds: DataSet, before: str, after: str,
                 said: str = "") -> list[str]:
    """The opening lines of a results section: its title, the command and when it started (``said`` after it),
    the machine and the load average before and after."""
    return [f"## {title}", "", f"Command: `{command}` — {started:%Y-%m-%d %H:%M} UTC.{said}",
            "", f"Machine: {machine()}; {versions(ds.url)}.", "", f"`uptime` before: `{before}`", "",
            f"`uptime` after: `{after}`", ""]


def section_arguments(doc: str, requests: int, out: Path) -> argparse.ArgumentParser:
    """The options of a benchmark that writes one section a run: the data set's size, the requests per page, the
    results file and whether this run's section is added to it."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=requests)
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--append", action="store_true", help="add this run's section to an existing --out")
    return parser


def write_section(out: Path, header: str, section: str, append: bool) -> None:
    """``section`` added to ``out`` (``append``) or a new file of ``header`` and ``section``."""
    previous = out.read_text(encoding="utf-8") if append and out.exists() else header
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(previous.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def in_process_main(argv: list[str], doc: str, requests: int, out: Path, header: str, log_name: str,
                    measure, report) -> int:
    """``main`` of a benchmark that signs the first host in (``signed_in_host``) and then measures in this
    process: ``measure(ds, host, requests)``, then ``report(args, argv, ds, result, started, before, after)``
    gives the section written to ``--out``."""
    args = section_arguments(doc, requests, out).parse_args(argv)
    ds = data_set(args.cases)
    before, started = uptime(), datetime.now(UTC)
    host = signed_in_host(ds, log_name)
    result = measure(ds, host, args.requests)
    section = report(args, argv, ds, result, started, before, uptime())
    write_section(args.out, header, section, args.append)
    print(section)
    return 0
