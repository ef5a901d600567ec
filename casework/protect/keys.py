"""Key files kept outside the database and the repository (DESIGN §3.3, security.md §3.3).

Layout of the key folder (mode 0700, each file 0600):

- ``kek.v<N>.key``      master keys (key-encryption keys) that wrap each record's data key
- ``index.v<N>.key``    root of the blind-index keys (per field and province keys are derived)
- ``audit.v1.key``      HMAC key of the audit chain
- ``session.key``       Flask's secret key (signs the session-id cookie and CSRF tokens)
- ``checkpoint.ed25519`` private key that signs audit checkpoints (PEM)
- ``offline.v<N>.pem``  P-256 private keys that open entries sealed offline on a host's phone (PEM);
                        older versions stay for ``offline_key_grace_days`` after a rotation

The key ring never prints or logs a key; errors name the file, never its content. This module reads and
writes files only: the running application's ring, which the database's check values confirm, is
``casework.protect.ring.current_keys``.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_BYTES = 32
_VERSIONED = re.compile(r"^(kek|index)\.v(\d+)\.key$")
_OFFLINE = re.compile(r"^offline\.v(\d+)\.pem$")


class KeyError_(RuntimeError):
    """A key file is missing, unreadable, malformed or does not match the data."""


@dataclass(frozen=True, repr=False)
class KeyRing:
    directory: Path
    keks: dict[int, bytes] = field(default_factory=dict)
    index_roots: dict[int, bytes] = field(default_factory=dict)
    audit_key: bytes = b""
    secret_key: bytes = b""
    checkpoint_key: Ed25519PrivateKey | None = None
    offline_keys: dict[int, ec.EllipticCurvePrivateKey] = field(default_factory=dict)

    def __repr__(self) -> str:  # secrets stay out of tracebacks and debuggers
        return f"KeyRing(kek_versions={sorted(self.keks)}, index_versions={sorted(self.index_roots)})"

    @property
    def current_kek_version(self) -> int:
        return max(self.keks)

    @property
    def current_index_version(self) -> int:
        return max(self.index_roots)

    def kek(self, version: int) -> bytes:
        try:
            return self.keks[version]
        except KeyError:
            raise KeyError_(f"Master key version {version} is not in the key folder.") from None

    def index_root(self, version: int | None = None) -> bytes:
        v = self.current_index_version if version is None else version
        try:
            return self.index_roots[v]
        except KeyError:
            raise KeyError_(f"Blind-index key version {v} is not in the key folder.") from None

    def adding(self, keks: dict[int, bytes] | None = None, index_roots: dict[int, bytes] | None = None) -> KeyRing:
        """A ring with extra versions; versions already held are never replaced (a changed file is a fault)."""
        return replace(self, keks={**(keks or {}), **self.keks},
                       index_roots={**(index_roots or {}), **self.index_roots})

    def adding_offline(self, offline_keys: dict[int, ec.EllipticCurvePrivateKey]) -> KeyRing:
        return replace(self, offline_keys={**offline_keys, **self.offline_keys})

    @property
    def checkpoint_public_key(self) -> Ed25519PublicKey:
        if self.checkpoint_key is None:
            raise KeyError_("The checkpoint signing key is not in the key folder.")
        return self.checkpoint_key.public_key()


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _read_key(path: Path) -> bytes:
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        raise KeyError_(f"Key file {path.name} is missing from {path.parent}.") from None
    except OSError:
        raise KeyError_(f"Key file {path.name} cannot be read.") from None
    try:
        key = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise KeyError_(f"Key file {path.name} is malformed.") from None
    if len(key) != KEY_BYTES:
        raise KeyError_(f"Key file {path.name} does not hold a {KEY_BYTES * 8}-bit key.")
    return key


def _new_key_file(path: Path) -> None:
    _write_secret(path, secrets.token_bytes(KEY_BYTES).hex().encode("ascii") + b"\n")


def init_keys(directory: Path) -> list[str]:
    """Create a fresh key folder. Refuses when any key already exists: overwriting loses all data."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    existing = [p.name for p in directory.iterdir() if p.name.endswith((".key", ".ed25519", ".pem"))]
    if existing:
        raise KeyError_(f"The key folder {directory} already holds keys; refusing to overwrite them.")
    names = ["kek.v1.key", "index.v1.key", "audit.v1.key", "session.key"]
    for name in names:
        _new_key_file(directory / name)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_secret(directory / "checkpoint.ed25519", pem)
    return [*names, "checkpoint.ed25519", f"offline.v{add_offline_version(directory)}.pem"]


def add_offline_version(directory: Path) -> int:
    """Add the next offline key pair (P-256) and return its version; older ones are kept (issue 17)."""
    versions = [int(m.group(1)) for p in directory.iterdir() if (m := _OFFLINE.match(p.name))]
    version = max(versions, default=0) + 1
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_secret(directory / f"offline.v{version}.pem", pem)
    return version


def _read_offline_keys(directory: Path) -> dict[int, ec.EllipticCurvePrivateKey]:
    found: dict[int, ec.EllipticCurvePrivateKey] = {}
    for path in directory.iterdir():
        if m := _OFFLINE.match(path.name):
            try:
                loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (OSError, ValueError):
                raise KeyError_(f"Key file {path.name} cannot be read or is malformed.") from None
            if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(loaded.curve, ec.SECP256R1):
                raise KeyError_(f"Key file {path.name} is not a P-256 key.")
            found[int(m.group(1))] = loaded
    return found


def add_kek_version(directory: Path) -> int:
    """Add the next master-key version and return its number (``keys rotate``)."""
    versions = [int(m.group(2)) for p in directory.iterdir() if (m := _VERSIONED.match(p.name)) and m.group(1) == "kek"]
    version = max(versions, default=0) + 1
    _new_key_file(directory / f"kek.v{version}.key")
    return version


def add_index_version(directory: Path) -> int:
    versions = [
        int(m.group(2)) for p in directory.iterdir() if (m := _VERSIONED.match(p.name)) and m.group(1) == "index"
    ]
    version = max(versions, default=0) + 1
    _new_key_file(directory / f"index.v{version}.key")
    return version


def load_keys(directory: Path) -> KeyRing:
    if not directory.is_dir():
        raise KeyError_(f"The key folder {directory} does not exist; run 'flask --app wsgi keys init'.")
    keks: dict[int, bytes] = {}
    roots: dict[int, bytes] = {}
    for path in sorted(directory.iterdir()):
        m = _VERSIONED.match(path.name)
        if m:
            (keks if m.group(1) == "kek" else roots)[int(m.group(2))] = _read_key(path)
    if not keks:
        raise KeyError_(f"No master key (kek.v1.key) in {directory}.")
    if not roots:
        raise KeyError_(f"No blind-index key (index.v1.key) in {directory}.")
    checkpoint_path = directory / "checkpoint.ed25519"
    checkpoint_key = None
    if checkpoint_path.exists():
        try:
            loaded = serialization.load_pem_private_key(checkpoint_path.read_bytes(), password=None)
        except ValueError:
            raise KeyError_("Key file checkpoint.ed25519 is malformed.") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyError_("Key file checkpoint.ed25519 is not an Ed25519 key.")
        checkpoint_key = loaded
    return KeyRing(
        directory=directory,
        keks=keks,
        index_roots=roots,
        audit_key=_read_key(directory / "audit.v1.key"),
        secret_key=_read_key(directory / "session.key"),
        checkpoint_key=checkpoint_key,
        offline_keys=_read_offline_keys(directory),
    )


def _is_key_file(path: Path) -> bool:
    return path.name.endswith((".key", ".ed25519", ".pem"))


def open_to_others(directory: Path) -> list[tuple[Path, int]]:
    """The key folder and key files that group or others may read, write or enter: (path, mode) pairs.

    A key readable by another account on the server (a web server, a backup agent, a shared login)
    decrypts every case; one writable by it can be replaced with a key of the attacker's choosing.
    """
    found: list[tuple[Path, int]] = []
    try:
        mode = stat.S_IMODE(directory.stat().st_mode)
    except OSError:
        return found  # a missing folder is load_keys's error to report
    if mode & 0o077:
        found.append((directory, mode))
    for path in sorted(directory.iterdir()):
        if not _is_key_file(path):
            continue
        mode = stat.S_IMODE(path.stat().st_mode)  # follows a symlink: the key's own file counts
        if mode & 0o077:
            found.append((path, mode))
    return found


def require_private(directory: Path) -> None:
    """Raise ``KeyError_`` naming the first path and its mode when a key is open to group or others
    (production start-up, ``casework.configure_keys``). The message holds paths and modes, never a key."""
    found = open_to_others(directory)
    if not found:
        return
    path, mode = found[0]
    fix = "chmod 700" if path.is_dir() else "chmod 600"
    more = f" ({len(found) - 1} more key paths likewise)" if len(found) > 1 else ""
    raise KeyError_(f"{'Key folder' if path.is_dir() else 'Key file'} {path} has mode {mode:04o}: group or others "
                    f"may read or write it{more}. Production refuses to start; run '{fix} {path}' "
                    f"(and 'chmod 600' on every key file) as the key's owner.")


def versions_on_disk(directory: Path) -> dict[str, set[int]]:
    """Versions of the master and blind-index keys present in the folder (names only, nothing read)."""
    found: dict[str, set[int]] = {"kek": set(), "index": set(), "offline": set()}
    try:
        for path in directory.iterdir():
            if m := _VERSIONED.match(path.name):
                found[m.group(1)].add(int(m.group(2)))
            elif m := _OFFLINE.match(path.name):
                found["offline"].add(int(m.group(1)))
    except OSError:
        pass
    return found
