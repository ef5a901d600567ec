"""The load generator of bench/load.py: Locust, used as a library, in its own process (gevent).

Not a benchmark of its own (the leading underscore keeps it out of ``make bench``). bench/load.py starts it
with a plan (host accounts with their TOTP secrets, names to search and to record) and reads back a JSON
file: the time of every request started in the measured window, by kind, the errors, the ids of the
cases created, and the CPU time of the generator, gunicorn and PostgreSQL during the window.
"""

# ruff: noqa: E402 - the imports follow gevent's monkey patching on purpose
from __future__ import annotations

import os

from gevent import monkey

monkey.patch_all()  # before anything imports ssl or socket
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"  # done above; Locust's second patch would only warn

import argparse
import json
import random
import re
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import gevent
import pyotp
from gevent.event import Event
from locust import FastHttpUser, between, constant, task
from locust.env import Environment

from bench._gunicorn import intake_form, load_ticks

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/([A-Za-z0-9_-]{10,32})"')
NEXT_LINK = re.compile(r'href="/cases\?after=([A-Za-z0-9_-]+)"')
NEW_CASE = re.compile(r"/cases/([A-Za-z0-9_-]{10,32})$")


class State:
    plan: dict = {}
    accounts: list[dict] = []
    users = 0
    signed_in = 0
    ready = Event()
    stop = Event()
    window = [float("inf"), float("inf")]
    inflight = 0
    samples: dict[str, list[float]] = {}
    errors: dict[str, dict[str, int]] = {}
    login: list[float] = []
    login_times: list[float] = []
    created: list[str] = []
    rng = random.Random(1)  # noqa: S311 - choosing synthetic actions


def _record(kind: str, started: float, elapsed_ms: float, error: str | None) -> None:
    if kind == "sign-in":
        State.login.append(elapsed_ms)
    elif State.window[0] <= started < State.window[1]:
        State.samples.setdefault(kind, []).append(elapsed_ms)
    else:
        if error is None:
            return
    if error is not None:
        bucket = State.errors.setdefault(kind, {})
        bucket[error] = bucket.get(error, 0) + 1


class Host(FastHttpUser):
    wait_time = constant(0)
    network_timeout = 120.0
    connection_timeout = 30.0

    def call(self, kind: str, method: str, path: str, form: list[tuple[str, str]] | None = None,
             expect: int = 200):
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else None
        body = urlencode(form, doseq=True) if form is not None else None
        State.inflight += 1
        started = time.monotonic()
        try:
            response = self.client.request(method, path, name=kind, data=body, headers=headers, allow_redirects=False)
        finally:
            State.inflight -= 1
        elapsed = (time.monotonic() - started) * 1000
        error = None if response.status_code == expect else (str(response.status_code) if response.status_code
                                                              else type(getattr(response, "error", None)).__name__)
        _record(kind, started, elapsed, error)
        return response if error is None else None

    def on_start(self) -> None:
        self.account = State.accounts.pop()
        self.known: list[str] = []
        self.cursor: str | None = None
        self.csrf = ""
        try:
            page = self.call("sign-in page", "GET", "/login")
            if page is not None:
                token = CSRF.search(page.text)
                code = pyotp.TOTP(self.account["secret"]).now()
                started = time.monotonic()
                done = self.call("sign-in", "POST", "/login", [
                    ("username", self.account["username"]), ("password", self.account["password"]),
                    ("totp", code), ("csrf_token", token.group(1) if token else "")], expect=302)
                if done is not None:
                    State.login_times.append(time.monotonic() - started)
                    self._list("/cases", "list, first page")
        finally:
            State.signed_in += 1
            if State.signed_in == State.users:
                State.ready.set()
        State.ready.wait()

    def _list(self, path: str, kind: str) -> None:
        page = self.call(kind, "GET", path)
        if page is None:
            return
        text = page.text
        ids = CASE_LINK.findall(text)
        if ids:
            self.known = (self.known + ids)[-200:]
        following = NEXT_LINK.search(text)
        self.cursor = following.group(1) if following else None
        token = CSRF.search(text)
        if token:
            self.csrf = token.group(1)

    @task(4)
    def case_list(self) -> None:
        if State.stop.is_set():
            return
        if self.cursor and State.rng.random() < 0.5:
            self._list(f"/cases?after={self.cursor}", "list, next page")
        else:
            self._list("/cases", "list, first page")

    @task(4)
    def case_view(self) -> None:
        if State.stop.is_set() or not self.known:
            return
        self.call("case view", "GET", f"/cases/{State.rng.choice(self.known)}")

    @task(2)
    def search(self) -> None:
        if State.stop.is_set() or not self.csrf:
            return
        sample = State.rng.choice(self.account["samples"])
        roll = State.rng.random()
        if roll < 0.4:
            query = sample["name"]
        elif roll < 0.6:
            query = sample["name"].split()[-1]  # the given name alone: many candidates
        elif roll < 0.9:
            query = f"{sample['phone'][:4]} {sample['phone'][4:7]} {sample['phone'][7:]}"
        else:
            query = State.rng.choice(State.plan["misses"])  # most likely not at her address
        self.call("search", "POST", "/cases/search", [("q", query), ("csrf_token", self.csrf)])

    @task(1)
    def intake(self) -> None:
        if State.stop.is_set():
            return
        form = self.call("intake form", "GET", "/cases/new")
        if form is None or State.stop.is_set():
            return
        token = CSRF.search(form.text)
        rng = State.rng
        intake_at = (datetime.now(UTC) - timedelta(minutes=rng.randint(5, 600))).astimezone(VN)
        data = intake_form(self.account, token.group(1) if token else "", rng.choice(State.plan["intake_names"]),
                           rng, intake_at)
        saved = self.call("intake save", "POST", "/cases/new", data, expect=302)
        if saved is None:
            return
        found = NEW_CASE.search(saved.headers.get("Location") or "")
        if found:
            State.created.append(found.group(1))
            self.known.append(found.group(1))
        else:
            _record("intake save", time.monotonic(), 0.0, "302 elsewhere")


# --- CPU accounting --------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_snapshot(server_pid: int) -> dict[str, float]:
    gunicorn, postgres = 0, 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        ppid, ticks = load_ticks(pid)
        if pid == server_pid or ppid == server_pid:
            gunicorn += ticks
        elif comm == "postgres":
            postgres += ticks
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"gunicorn": gunicorn / TICK, "postgres": postgres / TICK, "busy": (sum(values[:8]) - idle) / TICK,
            "total": sum(values[:8]) / TICK, "generator": usage.ru_utime + usage.ru_stime}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--think", type=float, nargs=2, default=(0.0, 0.0))
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--last-step-file", type=Path, default=None)
    args = parser.parse_args(argv)
    State.plan = json.loads(args.plan.read_text(encoding="utf-8"))
    State.accounts = list(reversed(State.plan["accounts"][: args.users]))
    State.users = args.users
    State.rng = random.Random(State.plan["seed"])  # noqa: S311
    Host.wait_time = between(*args.think) if args.think[1] > 0 else constant(0)
    # A TOTP code is accepted once per 30-second step and account: wait for a step later than the last run's.
    if args.last_step_file and args.last_step_file.exists():
        last = int(args.last_step_file.read_text())
        while int(time.time() // 30) <= last:
            time.sleep(1)

    env = Environment(user_classes=[Host], host=args.host)
    runner = env.create_local_runner()
    signing_in = time.monotonic()
    runner.start(args.users, spawn_rate=args.users)
    if not State.ready.wait(timeout=300):
        print("not every user signed in within 300 s", file=sys.stderr)
        runner.quit()
        return 1
    login_span = time.monotonic() - signing_in
    if args.last_step_file:
        args.last_step_file.write_text(str(int(time.time() // 30)))
    start = _cpu_snapshot(args.server_pid)
    State.window[0] = time.monotonic()
    State.window[1] = State.window[0] + args.duration
    gevent.sleep(args.duration)
    end = _cpu_snapshot(args.server_pid)
    load = os.getloadavg()
    State.stop.set()
    for _ in range(1200):  # let the requests in flight finish: a saved intake must be counted
        if State.inflight == 0:
            break
        gevent.sleep(0.05)
    runner.quit()
    cpu = {k: end[k] - start[k] for k in start}
    window = args.duration
    result = {
        "window": window, "samples": State.samples, "errors": State.errors, "login": State.login,
        "login_span": login_span, "created": State.created,
        "cpu": {"machine_busy": 100 * cpu["busy"] / cpu["total"] if cpu["total"] else 0.0,
                "generator": cpu["generator"], "gunicorn": cpu["gunicorn"], "postgres": cpu["postgres"],
                "other": max(0.0, cpu["busy"] - cpu["generator"] - cpu["gunicorn"] - cpu["postgres"]),
                "loadavg": " ".join(f"{v:.2f}" for v in load)},
    }
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
