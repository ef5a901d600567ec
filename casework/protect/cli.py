"""``keys rotate``, ``keys verify`` and ``keys reindex`` (DESIGN §4; registered by ``casework.cli``).

Nothing here prints a key or a protected value: only versions, counts, table and column names.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext

from casework.extensions import db

if TYPE_CHECKING:
    from casework.protect.keys import KeyRing


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


def _describe(pending: dict[str, int]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in sorted(pending.items()))


def _add_key(add: Callable[[Path], int], kind: str, event: str, what: str) -> int:
    """Write the next version of a key, with its check value and ``event`` committed; stop the command (exit 1)
    when it cannot be added. The caller reloads the key ring."""
    from casework.protect import audit, rotation
    from casework.protect.canary import record_check_value
    from casework.protect.keys import load_keys
    from casework.protect.ring import current_keys

    directory = Path(current_keys().directory)
    try:
        version = add(directory)
        record_check_value(load_keys(directory), kind, version)
        audit.record(event, object_type="key", detail=f"{kind}.v{version}", actor=rotation.OPERATOR)
        db.session.commit()
    except (OSError, RuntimeError) as e:
        db.session.rollback()
        _fail(f"Could not add {what}: {e}")
    return version


def _nothing_to_resume(pending: dict[str, int], resume: bool, message: str) -> bool:
    """``--resume`` with no row left: say ``message``; the command then stops (a plain run starts a new version)."""
    if pending or not resume:
        return False
    click.echo(message)
    return True


def _add_and_load(add: Callable[[Path], int], kind: str, event: str, what: str, loaded: Callable[[KeyRing], int],
                  name: str, verb: str) -> int:
    """``_add_key``, then the key ring reloaded in this process; stop the command (exit 1) when the new version
    (``loaded(keys)``) is not the current one after all."""
    from casework.protect.ring import refresh_keys

    target = _add_key(add, kind, event, what)
    keys = refresh_keys(current_app._get_current_object())  # type: ignore[attr-defined]
    if loaded(keys) != target:
        _fail(f"{name} v{target} was written but could not be loaded; nothing was {verb}.")
    return target


def _run_in_batches(label: str, pending: dict[str, int], run: Callable[[Callable[[int], None]], int],
                    left_now: Callable[[], dict[str, int]], event: str, detail: str) -> tuple[int, dict[str, int]]:
    """``run(on_batch)`` with a progress bar over the pending rows, then ``event``_done (or _partial when rows
    changed during the run and are left) recorded: the rows done and those left."""
    from casework.protect import audit, rotation

    with click.progressbar(length=sum(pending.values()), label=label, show_pos=True, file=sys.stderr) as bar:
        done = run(bar.update)
    left = left_now()
    audit.record(f"{event}_done" if not left else f"{event}_partial", object_type="key", detail=detail,
                 actor=rotation.OPERATOR)
    db.session.commit()
    return done, left


@click.command("rotate")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Rows re-wrapped per committed batch.")
@click.option("--resume", is_flag=True,
              help="Only finish re-wrapping under the newest master key; never add a new version.")
@click.option("--offline", "offline", is_flag=True,
              help="Add a new offline key pair (P-256) instead; phones seal new entries to it, and the older "
                   "private keys still open entries for offline_key_grace_days.")
@with_appcontext
def keys_rotate(batch_size: int, resume: bool, offline: bool = False) -> None:
    """Add a master-key version and re-wrap every data key and sealed seed under it, in batches.

    Started again after an interruption, it finishes the unfinished rotation instead of adding another
    version. Run it once more with --resume after restarting the application, for data keys created
    meanwhile by workers that still had the previous version.
    """
    from casework.protect import rotation
    from casework.protect.keys import add_kek_version
    from casework.protect.ring import current_keys

    if offline:
        _rotate_offline()
        return
    target = current_keys().current_kek_version
    pending = rotation.pending_rewrap(target)
    if _nothing_to_resume(pending, resume,
                          f"Nothing to re-wrap: every data key and sealed value is under master key v{target}."):
        return
    if pending:
        click.echo(f"Resuming the rotation to master key v{target}: {sum(pending.values())} left "
                   f"({_describe(pending)}).")
    else:
        target = _add_and_load(add_kek_version, "kek", "key_rotation_start", "a master key",
                               lambda k: k.current_kek_version, "Master key", "re-wrapped")
        pending = rotation.pending_rewrap(target)
        click.echo(f"Added master key kek.v{target}.key; {sum(pending.values())} data keys and sealed values "
                   "to re-wrap.")
    done, left = _run_in_batches(f"Re-wrapping under v{target}", pending,
                                 lambda on_batch: rotation.rewrap_all(target, batch_size, on_batch=on_batch),
                                 lambda: rotation.pending_rewrap(target), "key_rotation", f"kek.v{target}")
    if left:
        _fail(f"{sum(left.values())} rows changed during the run and are still under an older master key "
              f"({_describe(left)}); run 'keys rotate --resume' again.")
    click.echo(f"Done: {done} re-wrapped; every data key and sealed value is under master key v{target}.")
    click.echo(f"Back up kek.v{target}.key to the offline custodians now. Keep the older master keys until every "
               "database backup made before today has expired (those backups still need them).")


def _rotate_offline() -> None:
    """Issue 17: nothing is re-encrypted; entries sealed to an older key open while its grace period runs."""
    from casework.protect.keys import add_offline_version
    from casework.protect.ring import refresh_keys

    version = _add_key(add_offline_version, "offline", "key_rotation_offline", "an offline key pair")
    refresh_keys(current_app._get_current_object())  # type: ignore[attr-defined]
    grace = current_app.config["SETTINGS"].offline_key_grace_days
    click.echo(f"Added offline key pair offline.v{version}.pem; phones seal new entries to it from their next "
               f"sync. Entries sealed to older offline keys still open for {grace} days; after that their "
               "files may be moved offline.")


@click.command("reindex")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Records re-indexed per committed batch.")
@click.option("--resume", is_flag=True, help="Only finish an unfinished re-key; never add a new index version.")
@click.option("--wait-seconds", default=None, type=click.IntRange(0, 3600),
              help="Pause after adding the index key so that running workers load it before records move "
                   "(default: the workers' reload interval plus 5 s).")
@with_appcontext
def keys_reindex(batch_size: int, resume: bool, wait_seconds: int | None) -> None:
    """Add a blind-index root version and recompute every index row with it, in batches (resumable).

    Searches keep working during the run: workers search every index version of their key ring.
    """
    from casework.protect import rotation
    from casework.protect.keys import add_index_version
    from casework.protect.ring import RELOAD_SECONDS, current_keys

    target = current_keys().current_index_version
    pending = rotation.pending_reindex(target)
    if _nothing_to_resume(pending, resume, f"Nothing to re-index: every blind-index row is of version {target}."):
        return
    if pending:
        click.echo(f"Resuming the re-key to index version {target}: {sum(pending.values())} records left.")
    else:
        target = _add_and_load(add_index_version, "index", "key_reindex_start", "an index key",
                               lambda k: k.current_index_version, "Index key", "re-indexed")
        wait = RELOAD_SECONDS + 5 if wait_seconds is None else wait_seconds
        if wait:
            click.echo(f"Added index.v{target}.key; waiting {wait} s for running workers to load it.")
            time.sleep(wait)
        pending = rotation.pending_reindex(target)
    done, left = _run_in_batches(f"Re-indexing with v{target}", pending,
                                 lambda on_batch: rotation.reindex_all(target, batch_size, on_batch=on_batch),
                                 lambda: rotation.pending_reindex(target), "key_reindex", f"index.v{target}")
    if left:
        _fail(f"{sum(left.values())} records changed during the run; run 'keys reindex --resume' again.")
    click.echo(f"Done: {done} records re-indexed with index key v{target}. Once every worker has been "
               f"restarted, older index.v*.key files may be moved offline.")


@click.command("verify")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def keys_verify(batch_size: int) -> None:
    """Decrypt every protected value, sealed seed and attachment and recompute every blind index.

    Prints counts only, never a value; exits 1 when anything does not decrypt or does not match.
    """
    from casework.protect import audit, rotation
    from casework.protect.ring import current_keys
    from casework.protect.verify import verify_protected_data

    keys = current_keys()
    report = verify_protected_data(batch=batch_size, keys=keys)
    click.echo(f"key ring: master keys {', '.join(f'v{v}' for v in sorted(keys.keks))}; "
               f"index keys {', '.join(f'v{v}' for v in sorted(keys.index_roots))}")
    click.echo("offline keys: " + (", ".join(f"v{v}" for v in sorted(keys.offline_keys)) or
                                   "none (run 'keys rotate --offline' to enable recording without signal)"))
    for what, n in sorted(report.checked.items()):
        click.echo(f"checked: {what}: {n}")
    if report.kek_versions:
        click.echo("under master key: " + ", ".join(f"v{v}: {n}" for v, n in sorted(report.kek_versions.items())))
    if report.index_versions:
        versions = sorted(report.index_versions.items())
        click.echo("index rows of version: " + ", ".join(f"v{v}: {n}" for v, n in versions))
    for note in report.notes:
        click.echo(f"note: {note}")
    audit.record("key_verify", object_type="key", outcome="allowed" if report.ok else "failed",
                 actor=rotation.OPERATOR)
    db.session.commit()
    if report.ok:
        click.echo("ok: no problem found")
        return
    for (place, what), n in sorted(report.problems.items()):
        click.echo(f"problem: {place}: {what}: {n}")
    click.echo(f"bad: {sum(report.problems.values())} problems")
    sys.exit(1)
