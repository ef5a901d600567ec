"""Before and after through two real gunicorns, one request at a time (issue 18): the code of git ``main``
(exported with ``git archive``, as bench/pages.py does) and this worktree, each served by its own gunicorn
on the same data set, with the same session cookie, the requests alternating between the two servers one by
one (which one goes first alternates by round). Whatever else loads the machine loads both alike, so the
ratio after ÷ before holds on a busy machine where two separate runs of bench/pages_gunicorn.py do not
compare. Prints a Markdown table (and writes it to ``--out`` when given).

    python -m bench.pages_gunicorn_ab --cases 100000 --requests 100
    python -m bench.pages_gunicorn_ab --before .     # a control: this worktree against itself (expect 1.00)

The data set, the production settings, the sign-in and the requests are bench/pages_gunicorn.py's
(bench/_gunicorn.py); one ``flask audit chainer`` of this worktree seals the events of both. A fourth page,
the host's own account page (``/account``: the session lookup, the menu and one small list), shows the
fixed cost of a signed-in page.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from bench import _gunicorn as g
from bench import p95
from bench.pages import TMP, _export_main


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--before", type=Path, help="the code tree measured as before (default: git main exported)")
    args = parser.parse_args(argv)
    ds = g.data_set(args.cases)
    before_root = args.before.resolve() if args.before else _export_main(TMP / "pages-ab-main")
    env = {**ds.env, "TINCAY_AUDIT_CHAINER": "off"}
    log = ds.state / "pages_gunicorn_ab.log"
    uptime_before = g.uptime()
    chainer = g.chainer(env, log)
    servers: dict[str, g.Server] = {}
    try:
        servers["before"] = g.gunicorn(env, args.workers, log, root=before_root)
        servers["after"] = g.gunicorn(env, args.workers, log)
        g.wait_for_fresh_totp_step(ds)
        host = g.sign_in(servers["after"].port, ds.plan["accounts"][0])
        g.note_totp_step(ds)
        if not host.case_ids:
            raise SystemExit(f"{host.username} has no case in her list")
        pages = {"account page": ("GET", "/account", None), "case list": ("GET", "/cases", None),
                 "case view": ("GET", f"/cases/{host.case_ids[0]}", None),
                 "case search": ("POST", "/cases/search", [("q", host.samples[0]["name"]),
                                                           ("csrf_token", host.csrf)])}
        samples: dict[tuple[str, str], list[float]] = {(p, v): [] for p in pages for v in servers}
        for i in range(args.requests + 5):  # 5 warm-up rounds
            for page, (method, path, form) in pages.items():
                for version in ("before", "after") if i % 2 else ("after", "before"):
                    answer = g.fetch(servers[version].port, method, path, host.cookie, form)
                    if answer.status != 200:
                        raise SystemExit(f"{page} ({version}): HTTP {answer.status}")
                    if i >= 5:
                        samples[(page, version)].append(answer.ms)
    finally:
        for server in servers.values():
            server.stop()
        chainer.terminate()
        chainer.wait(timeout=60)
    before = f"git `main` at `{(before_root / '.commit').read_text()[:10]}`" if not args.before else f"`{before_root}`"
    lines = [f"Command: `python -m bench.pages_gunicorn_ab {' '.join(argv)}`; before: {before}, "
             f"after: this worktree; {args.requests} requests per page and version, alternating one by one.", "",
             f"Machine: {g.machine()}; {g.versions(ds.url)}.", "",
             f"`uptime` before: `{uptime_before}`", "", f"`uptime` after: `{g.uptime()}`", "",
             "| page | before ms (median) | after ms (median) | after ÷ before | before p95 | after p95 |",
             "|---|---:|---:|---:|---:|---:|"]
    for page in pages:
        b, a = sorted(samples[(page, "before")]), sorted(samples[(page, "after")])
        lines.append(f"| {page} | {statistics.median(b):.1f} | {statistics.median(a):.1f} | "
                     f"{statistics.median(a) / statistics.median(b):.2f} | {p95(b):.1f} | {p95(a):.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
