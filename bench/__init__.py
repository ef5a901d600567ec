"""Benchmarks (``python -m bench.NAME``); what they share."""

from __future__ import annotations

import argparse


def sizes_parser(doc: str | None, requests: int) -> argparse.ArgumentParser:
    """The command line of a benchmark that builds a database of each ``--sizes`` and times ``--requests``
    requests against it; its description is the first paragraph of ``doc``."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--requests", type=int, default=requests)
    return parser
