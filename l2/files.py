"""Writing files so that a failure never leaves half of one, and never comes after the work."""

from __future__ import annotations

import os
from pathlib import Path

from l2.errors import InputError


def check_writable(path) -> None:
    """InputError unless `path` can be written, so a run fails before it does work, not after."""
    target = Path(path)
    existing = target.parent
    while not existing.exists():  # the folder will be created: the nearest existing ancestor must be writable
        existing = existing.parent
    if target.is_dir():
        raise InputError(f"{target} is a directory, not a file")
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise InputError(f"cannot write {target}: {existing} is not a writable folder")
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError(f"cannot write {target}: permission denied")


def write_atomic(path, text: str) -> None:
    """Write via a temporary file and rename: readers see the old content or the new, never half."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, target)
