"""Writing files so that a failure never leaves half of one, and never comes after the work."""

from __future__ import annotations

import os
from pathlib import Path

from l2.errors import InputError


def _temporary(target: Path) -> Path:
    return target.with_name(target.name + ".tmp")


def check_writable(path) -> None:
    """InputError unless `path` can be written, so a run fails before it does work, not after.

    Where the folder exists, the check creates (and removes) the very temporary file the
    write will use: permission bits alone say yes to places like /proc that refuse files.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target} is a directory, not a file")
    existing = target.parent
    while not existing.exists():  # the folder will be created: the nearest existing ancestor must be writable
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise InputError(f"cannot write {target}: {existing} is not a writable folder")
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError(f"cannot write {target}: permission denied")
    if existing == target.parent:
        probe = _temporary(target)
        try:
            probe.touch(exist_ok=False)
        except FileExistsError:
            return  # a leftover of an earlier interrupted write: the real write replaces it
        except OSError as exc:
            raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
        probe.unlink(missing_ok=True)


def write_atomic(path, text: str) -> None:
    """Write via a temporary file and rename: readers see the old content or the new, never half."""
    target = Path(path)
    tmp = _temporary(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
