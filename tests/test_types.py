"""Types checked in the suite (issue 14): mypy in strict mode over the packages listed here, zero errors.

A ratchet: a package joins ``STRICT`` once it is clean and never leaves it. The issue's aim is
``casework/protect``, ``casework/auth``, ``casework/stats`` and every ``schemas.py`` strict and the rest of
the project clean under the project's settings (``[tool.mypy]`` in pyproject.toml); today
``casework/protect``, ``casework/api`` and ``casework/auth`` are strict, and ``docs/architecture.md`` says what is left.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STRICT = ("casework/protect", "casework/api", "casework/auth")

pytest.importorskip("mypy", reason="mypy is in the test extra: run make install (pip install -e '.[test]')")


def test_the_strict_packages_type_check_without_an_error(tmp_path):
    done = subprocess.run(  # noqa: S603 - a fixed command line: this interpreter, mypy, our own folders
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-error-summary",
         "--cache-dir", str(tmp_path / "mypy"), *STRICT],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
