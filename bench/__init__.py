"""Benchmarks (``python -m bench.NAME``); what they share."""

from __future__ import annotations

import argparse
from collections.abc import Iterable


def sizes_parser(doc: str | None, requests: int) -> argparse.ArgumentParser:
    """The command line of a benchmark that builds a database of each ``--sizes`` and times ``--requests``
    requests against it; its description is the first paragraph of ``doc``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=requests)
    return parser


def percentile(samples: Iterable[float], q: float) -> float:
    """The ``q`` quantile (0 < q <= 1) of ``samples`` as every benchmark reports it: the value at rank
    round(q × n) of the n samples in order (the 95th percentile of 100 samples is the 95th smallest)."""
    ordered = sorted(samples)
    return ordered[max(0, round(q * len(ordered)) - 1)]


def p95(samples: Iterable[float]) -> float:
    return percentile(samples, 0.95)
