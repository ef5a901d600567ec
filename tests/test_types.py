"""Types checked in the suite (issue 14): mypy in strict mode over the packages in ``STRICT`` and under the
project's settings over the whole project (``PROJECT`` less ``NOT_YET``), zero errors.

A ratchet: a package joins ``STRICT`` once it is clean and never leaves it; ``NOT_YET`` only shrinks. The issue's aim is
``casework/protect``, ``casework/auth``, ``casework/stats`` and every ``schemas.py`` strict and the rest of
the project clean under the project's settings (``[tool.mypy]`` in pyproject.toml); today
``casework/protect``, ``casework/api``, ``casework/auth`` and ``casework/stats`` are strict, and
``docs/architecture.md`` says what is left.

One mypy run checks both (it took two before, a minute of one worker's CPU on a fresh clone): the strict
packages get every flag of ``mypy --strict`` from a per-module section of ``[tool.mypy]``, which the first test
holds to ``STRICT_FLAGS``; a planted error of each kind shows that the run still fails on one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STRICT = ("casework/protect", "casework/api", "casework/auth", "casework/stats")
# Every domain's typed inputs (casework/schemas.py and each ``schemas.py``) are strict too, by module pattern.
STRICT_SCHEMAS = ("casework.schemas", "casework.*.schemas", "referral.schemas", "livelihood.schemas")
# Checked under the project's own settings ([tool.mypy]), zero errors.
PROJECT = ("casework", "referral", "livelihood")
# Left out of PROJECT until it is clean; it is still read for the types the rest imports from it, only its own
# errors are not reported. Empty since casework/stats became strict.
NOT_YET: tuple[str, ...] = ()
# What ``mypy --strict`` switches on (mypy --help), as per-module settings; warn_redundant_casts is whole-run only.
STRICT_FLAGS = {
    "disallow_any_generics": True, "disallow_subclassing_any": True, "disallow_untyped_calls": True,
    "disallow_untyped_defs": True, "disallow_incomplete_defs": True, "check_untyped_defs": True,
    "disallow_untyped_decorators": True, "warn_unused_ignores": True, "warn_return_any": True,
    "implicit_reexport": False, "strict_equality": True, "extra_checks": True,
}
ERROR = re.compile(r"^(?P<path>[^:\n]+\.py):\d+(?::\d+)?: error:", re.M)

pytest.importorskip("mypy", reason="mypy is in the test extra: run make install (pip install -e '.[test]')")


def _mypy(cache: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed command line: this interpreter, mypy, our own folders
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--follow-imports=silent",
         "--no-error-summary", "--cache-dir", str(cache), *args],
        cwd=cwd, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """One mypy run over ``PROJECT`` (less ``NOT_YET``), strict where ``[tool.mypy]`` says, its cache kept for
    the planted check."""
    cache = tmp_path_factory.mktemp("mypy")
    excluded = [arg for folder in NOT_YET for arg in ("--exclude", f"^{folder}/")]
    return cache, _mypy(cache, *excluded, *PROJECT)


def _errors(done: subprocess.CompletedProcess[str], under: tuple[str, ...]) -> list[str]:
    return [line for line in done.stdout.splitlines()
            if (m := ERROR.match(line)) and m["path"].replace("\\", "/").startswith(tuple(f"{u}/" for u in under))]


def test_the_strict_packages_type_check_without_an_error(checked):
    mypy_config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy_config.get("warn_redundant_casts") is True
    for package in STRICT:
        module = package.replace("/", ".")
        sections = [s for s in mypy_config.get("overrides", ())
                    if module in s["module"] and f"{module}.*" in s["module"]]
        assert any(all(s.get(flag) is value for flag, value in STRICT_FLAGS.items()) for s in sections), (
            f"{package}: no [[tool.mypy.overrides]] section gives it every flag of mypy --strict")
    assert any(all(m in s["module"] for m in STRICT_SCHEMAS)
               and all(s.get(flag) is value for flag, value in STRICT_FLAGS.items())
               for s in mypy_config.get("overrides", ())), "the schemas.py modules are not all strict"
    _cache, done = checked
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 2: mypy itself failed
    assert _errors(done, STRICT) == [], done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if "schemas.py:" in line] == [], done.stdout


def test_the_project_type_checks_under_its_own_settings(checked):
    """``casework``, ``referral`` and ``livelihood`` under ``[tool.mypy]`` (less ``NOT_YET``): the acting user is
    a ``User`` everywhere, so a misspelt attribute of hers is an error here."""
    _cache, done = checked
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_planted_error_fails_the_check_strictly_in_a_strict_package_only(checked, tmp_path):
    """The same configuration over planted files: an unannotated function is an error in a strict package and
    not elsewhere; a plain type error is one everywhere."""
    cache, _done = checked
    for package in ("casework", "casework/stats", "referral"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    untyped = "def planted(x):\n    return x\n"
    wrong = "planted: int = 'not a number'\n"
    (tmp_path / "casework/stats/planted_untyped.py").write_text(untyped)
    (tmp_path / "referral/planted_untyped.py").write_text(untyped)
    (tmp_path / "referral/planted_wrong.py").write_text(wrong)
    done = _mypy(cache, "--follow-imports=skip", "casework", "referral", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert sorted(m["path"].replace("\\", "/") for m in ERROR.finditer(done.stdout)) == [
        "casework/stats/planted_untyped.py", "referral/planted_wrong.py"], done.stdout
