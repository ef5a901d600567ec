"""The intake form and the case edit form, drawn with the app's select widget against wtforms' own (issue 18).
Writes bench/results/forms.md.

    python -m bench.forms --cases 100000                 # tincay_load_100000 (bench/load.py's data set)
    python -m bench.forms --cases 10000 --requests 20    # a quick try

The intake form offers about 500 options (the province's pre-2025 communes, her home commune, the 54 ethnic
groups, …). ``casework.forms.Select`` writes them in one pass; wtforms' ``Select`` formats every option's
attributes with markupsafe's pure-Python ``Markup.format``. Both are measured in one run, in this process,
through the app's WSGI entry as gunicorn calls it (bench/page_phases.py's way, with the same production
settings and a host signed in through a short-lived gunicorn): the two widgets take turns request by request,
so whatever else loads the machine loads both alike; **after ÷ before** is the ratio of the medians.
"""

from __future__ import annotations

import statistics
import sys
from datetime import datetime

import wtforms

from bench import _gunicorn as g
from bench.page_phases import _wsgi_call

RESULTS = g.ROOT / "bench" / "results" / "forms.md"

HEADER = """# The case forms' selects (issue 18): the app's widget against wtforms' own

How measured: see the docstring of `bench/forms.py`. In process, through the app's WSGI entry; the two widgets
take turns request by request. Only figures of one section compare with each other.
"""


def measure(ds: g.DataSet, host: g.Host, n: int) -> dict[str, dict[str, list[float]]]:
    app = g.app_in_process(ds)
    from casework.forms import Select, SelectField

    pages = {"intake form (new case)": "/cases/new", "case edit form": f"/cases/{host.case_ids[0]}/edit"}
    widgets = {"wtforms' Select": wtforms.widgets.Select(), "casework.forms.Select": Select()}
    result: dict[str, dict[str, list[float]]] = {page: {name: [] for name in widgets} for page in pages}
    try:
        for i in range(n + 5):
            for page, path in pages.items():
                for name, widget in (widgets.items() if i % 2 else reversed(widgets.items())):
                    SelectField.widget = widget
                    status, ms = _wsgi_call(app, path, host.cookie)
                    if status != 200:
                        raise SystemExit(f"{page} with {name}: HTTP {status}")
                    if i >= 5:
                        result[page][name].append(ms)
    finally:
        SelectField.widget = widgets["casework.forms.Select"]
    return result


def report(args, argv: list[str], ds: g.DataSet, result: dict, started: datetime, before: str, after: str) -> str:
    command = ("python -m bench.forms " + " ".join(argv)).strip()
    lines = [*g.section_head(f"{ds.cases:,} cases (`{ds.database}`), in process, PostgreSQL", command, started, ds,
                             before, after, f" {args.requests} requests per form and widget, the widgets taking "
                             "turns."),
             "| form | wtforms' Select ms (median) | casework.forms.Select ms (median) | after ÷ before |",
             "|---|---:|---:|---:|"]
    for page, samples in result.items():
        b, a = statistics.median(samples["wtforms' Select"]), statistics.median(samples["casework.forms.Select"])
        lines.append(f"| {page} | {b:.2f} | {a:.2f} | {a / b:.2f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    return g.in_process_main(argv, __doc__, 100, RESULTS, HEADER, "forms.log", measure, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
