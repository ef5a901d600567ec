"""Extract, update and check the message catalogues, one per package so that domains never share a file.

    python tools/i18n.py update [PACKAGE]   # extract messages and merge them into the vi and en catalogues
    python tools/i18n.py check    # list untranslated or fuzzy Vietnamese messages; exit 1 if any
    python tools/i18n.py fill PACKAGE FILE.tsv   # set Vietnamese strings from msgid<TAB>msgstr lines
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
# package -> source folders whose messages it owns
PACKAGES = {
    "casework": ["casework/__init__.py", "casework/api", "casework/auth", "casework/protect", "casework/geo",
                 "casework/main.py", "casework/web.py", "casework/nav.py", "casework/forms.py", "casework/demo.py",
                 "casework/cli.py", "casework/text.py", "casework/errors.py", "casework/service_types.py",
                 "casework/work.py", "casework/work_api.py", "casework/notify.py", "casework/paging.py",
                 "casework/digest.py", "casework/schemas.py", "templates/work",
                 "templates/notify",
                 "templates/base.html", "templates/_macros", "templates/errors", "templates/auth",
                 "templates/admin", "templates/main", "templates/audit",
                 "casework/drafts", "templates/drafts"],
    "casework/cases": ["casework/cases", "templates/cases"],
    "casework/stats": ["casework/stats", "templates/stats"],
    "casework/offline": ["casework/offline", "templates/offline"],
    "referral": ["referral", "templates/referral"],
    "livelihood": ["livelihood", "templates/livelihood"],
}


def _sources(package: str) -> list[str]:
    return [s for s in PACKAGES[package] if (ROOT / s).exists()]


def update(only: str | None = None) -> None:
    for package in PACKAGES:
        if only and package != only:
            continue
        tdir = ROOT / package / "translations"
        tdir.mkdir(exist_ok=True)
        pot = tdir / "messages.pot"
        subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                        "-k", "_l", "-k", "_lp:1c,2", "--no-location", "--sort-output", "--omit-header", "-o", str(pot),
                        *_sources(package)], check=True, cwd=ROOT)
        # English is the language of the message ids; its catalogue exists so that Babel does not fall
        # back to the default (Vietnamese) one when English is chosen.
        for locale in ("vi", "en"):
            po = tdir / locale / "LC_MESSAGES" / "messages.po"
            command = "update" if po.exists() else "init"
            subprocess.run([sys.executable, "-m", "babel.messages.frontend", command, "-i", str(pot), "-d",
                            str(tdir), "-l", locale,
                            *(["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else [])],
                           check=True, cwd=ROOT)
        _identity_catalogue(tdir / "en" / "LC_MESSAGES" / "messages.po")


def _identity_catalogue(po: Path) -> None:
    """English strings are the ids themselves; filled in so no lookup falls through to another language."""
    from babel.messages.pofile import write_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if message.id:
            message.string = message.id
    with po.open("wb") as fh:
        write_po(fh, catalog, width=0)


def untranslated(package: str) -> list[str]:
    po = ROOT / package / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return []
    with po.open("rb") as fh:
        catalog = read_po(fh)
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def check() -> int:
    bad = 0
    for package in PACKAGES:
        for msgid in untranslated(package):
            print(f"{package}: untranslated: {msgid}")
            bad += 1
    return 1 if bad else 0


def fill(package: str, tsv: Path) -> None:
    """Set Vietnamese strings from a file of ``msgid<TAB>msgstr`` lines (what a translator hands back)."""
    from babel.messages.pofile import write_po

    po = ROOT / package / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh)
    for line in tsv.read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        msgid, msgstr = line.split("\t", 1)
        message = catalog.get(msgid)
        if message is not None:
            message.string = msgstr
            message.flags.discard("fuzzy")
    with po.open("wb") as fh:
        write_po(fh, catalog, width=0, omit_header=False)


if __name__ == "__main__":
    if sys.argv[1:2] == ["fill"] and len(sys.argv) == 4:
        fill(sys.argv[2], Path(sys.argv[3]))
    elif sys.argv[1:2] == ["update"]:
        update(sys.argv[2] if len(sys.argv) > 2 else None)
    elif sys.argv[1:] == ["check"]:
        sys.exit(check())
    else:
        print(__doc__)
        sys.exit(2)
