"""``make bench``: run every benchmark in this folder, one after the other, each in its own process.

Each benchmark writes its own results file under bench/results/ with the machine and the command that
produced it. ``python -m bench.run NAME…`` runs only the named ones (module names without ``.py``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.py") if p.stem not in ("__init__", "run") and not p.stem.startswith("_"))


def main(argv: list[str]) -> int:
    names = argv or benchmarks()
    failed = []
    for name in names:
        print(f"== bench {name}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent, check=False)  # noqa: S603
        print(f"== bench {name}: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
