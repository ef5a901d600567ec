"""Run cases of ``bench.stats_release`` and record what each release publishes, to compare two engines.

For every release the benchmark computes, writes one JSON line: the release id, its snapshot hash (what is
published: every cell's status and value), a hash and count of the withheld cells, a hash of the
manifest's audit summary, the wall and CPU time and the programs solved. Two runs of the same cases (one
per engine, e.g. ``PYTHONPATH`` on a copy of ``main``) must give the same hashes: the engines then publish
exactly the same cells and the same audit summary.

    python -m bench.stats_release_compare --only demo,sparse --out /tmp/after.jsonl
    python -m bench.stats_release_compare --cases 20000 --only quarters --out /tmp/after.jsonl
    python -m bench.stats_release_compare --profile /tmp/sparse.prof --only sparse --out /tmp/x.jsonl
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import time
from typing import Any

import bench.stats_release as bench
from casework.stats import release as release_module


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--only", default="demo,sparse")
    parser.add_argument("--out", required=True, help="a file to append one JSON line per release to")
    parser.add_argument("--profile", help="write a cProfile of the whole run to this file")
    args = parser.parse_args(argv)
    parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
    original = release_module.compute_release

    def recorded(**kw: Any) -> release_module.Release:
        load = os.getloadavg()[0]
        t, cpu = time.perf_counter(), time.process_time()
        out = original(**kw)
        wall, cpu = time.perf_counter() - t, time.process_time() - cpu
        withheld = sorted(c.key.label() for c in out.cells if c.status == release_module.SUPPRESSED)
        diag = kw.get("diagnostics")
        line = {"release": out.release_id, "snapshot": out.manifest["snapshot_hash"],
                "withheld": len(withheld), "cells": len(out.cells),
                "withheld_hash": hashlib.sha256("\n".join(withheld).encode()).hexdigest()[:16],
                # The manifest's audit summary (smallest protected width, insider pairs beyond repair, ...)
                # is published too: it must not change either.
                "audit_hash": hashlib.sha256(json.dumps(out.manifest["audit"], sort_keys=True).encode())
                .hexdigest()[:16],
                "wall": round(wall, 3), "cpu": round(cpu, 3),
                "programs": diag.linear_programs if diag is not None else None,
                "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        print(json.dumps(line), flush=True)
        return out

    bench.compute_release = recorded  # type: ignore[assignment]
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    if profiler is not None:
        profiler.enable()
    try:
        bench.run(args.cases, parts)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
