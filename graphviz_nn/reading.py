"""Reading a file the user names (a spec, a program): bounded before it is read, never blocking."""
from __future__ import annotations

import os
import stat

from .errors import UserError


def read_bounded(path: str, limit: int, what: str, too_large) -> bytes:
    """At most limit + 1 bytes of a regular file: /dev/zero or a FIFO named like one is refused
    at once (opened without blocking, its type checked on the open file), a huge file unread.
    `what` names the file in messages ("the network spec"); too_large(path, limit) is the error."""
    def refuse(reason: str) -> UserError:
        return UserError(f"cannot read {what} {path}: {reason}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refuse("not a regular file" + (" (a folder)" if stat.S_ISDIR(info.st_mode) else ""))
        if info.st_size > limit:
            raise too_large(path, limit)
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:                    # a file that grew, or one whose size reads as 0 (/proc)
            raise too_large(path, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise refuse(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def read_text(path: str, limit: int, what: str, too_large) -> str:
    """The file as UTF-8 text (a byte-order mark, as some editors write, dropped)."""
    data = read_bounded(path, limit, what, too_large)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot read {what} {path}: not UTF-8 text (byte {exc.start + 1:,})") from None
