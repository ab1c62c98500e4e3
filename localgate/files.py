"""Files localgate writes are the user's alone: 0600 files in 0700 directories.

They hold account names, usage and the config; nothing in them is a secret,
but none of it is anybody else's business on a shared machine either.
"""

from __future__ import annotations

import os
from pathlib import Path


def version(path: Path) -> tuple[int, int] | None:
    """(modification time in ns, size) of the file at `path`: changes when it is
    written, so a poll can tell. None when there is none."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def identity(file: Path | int) -> tuple[int, int] | None:
    """(device, inode) of the file at a path or behind an open descriptor: which file
    it is, so a deleted or replaced one is told apart. None when there is none."""
    try:
        stat = os.stat(file)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def private_dir(directory: Path) -> Path:
    """`directory`, created 0700 (with its parents) when missing."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered through the umask
    return directory


def private_file(path: Path) -> Path:
    """`path`, created empty with mode 0600 when missing, made 0600 when it exists."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # an older file, or a umask that let more through
    return path


def private_key(path: Path, size: int = 32) -> bytes:
    """The random key kept in `path` (0600), made on first use.

    localgate signs with it what it hands clients to give back (sealed
    compaction summaries); a lost key only means those cannot be opened again.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) >= size:
        return key
    key = os.urandom(size)
    private_file(path).write_bytes(key)
    return key
