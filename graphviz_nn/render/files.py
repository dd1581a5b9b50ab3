"""Output folders: written in a staging folder beside the target and moved into place whole;
nngraph replaces only a folder it can prove it wrote."""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from ..errors import UserError

MARKER = ".nngraph"          # marks a folder as ours, so a later run may replace it whole


def folder_name(source: str) -> str:
    """A name derived from the input, safe on every file system, unique per input."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")[:48] or "graph"
    digest = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{slug}-{digest}"


def cannot_write(target: Path, exc: OSError) -> UserError:
    """A full disk, a read-only folder, a name too long: the user's to fix, not a bug of ours."""
    return UserError(f"cannot write {target}: {exc.strerror or exc}",
                     hint="choose a folder you can write to with -o; check the free space")


def check_target(target: Path, force: bool) -> None:
    place = Path(os.path.realpath(target))    # realpath: a symlink loop is no exception here
    home = Path(os.path.realpath(os.path.expanduser("~")))
    if place == place.parent or place == home or place in (Path.cwd() / "_").parents:
        # an output folder is replaced whole: never one of these, not even with --force
        raise UserError(f"{target}: refusing to replace the current folder, a folder containing it, "
                        f"your home folder or a root", hint="name a folder of its own with -o, as -o outputs/mine")
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} exists and is not a folder", hint="choose another name with -o")
    if target.exists() and not force and not (target / MARKER).exists() and any(target.iterdir()):
        raise UserError(f"{target} exists and was not written by nngraph",
                        hint="choose another folder with -o, or pass --force to replace it")


def replace_folder(staging: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        try:
            staging.rename(target)
        except BaseException:
            old.rename(target)          # the earlier complete folder comes back
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


@contextlib.contextmanager
def staged_folder(target: Path, force: bool):
    """A new staging folder beside target to write into; when the block ends without an error it
    is marked as ours and replaces target whole, otherwise it is removed."""
    try:
        check_target(target, force)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        staging.chmod(0o755)
    except OSError as exc:
        raise cannot_write(target, exc) from exc
    try:
        yield staging
        (staging / MARKER).write_text("written by nngraph; the next run replaces this folder\n")
        replace_folder(staging, target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise cannot_write(target, exc) from exc
        raise
