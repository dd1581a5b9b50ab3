"""Output folders: written in a staging folder beside the target and moved into place whole.

nngraph deletes or replaces only what it can prove it wrote. The proof is the marker file
`.nngraph` in every folder it writes: a manifest listing each file with its size and SHA-256
and each subfolder. A folder is ours when every entry in it is listed there and unchanged
(entries the user deleted do not matter). Everything else is foreign: refused, or with
--force kept under a new name beside it. Nothing foreign is ever deleted, and temporary
names are fresh (mkdtemp) so they never collide with a user's files.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError, terminal_safe

MARKER = ".nngraph"          # the manifest that proves a folder is ours
MARKER_FORMAT = "nngraph output folder, format 1"
OLD_MARKER_TEXT = "written by nngraph; the next run replaces this folder"   # before format 1
MAX_MARKER_BYTES = 16 * 1024 * 1024


def folder_name(source: str) -> str:
    """A name derived from the input, safe on every file system, unique per input."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")[:48] or "graph"
    digest = hashlib.sha1(source.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"{slug}-{digest}"


def cannot_write(target: Path, exc: OSError) -> UserError:
    """A full disk, a read-only folder, a name too long: the user's to fix, not a bug of ours."""
    return UserError(f"cannot write {target}: {exc.strerror or exc}",
                     hint="choose a folder you can write to with -o; check the free space")


# ---- a few steps that a signal must not cut in half ------------------------------------------

class Held:
    """While depth > 0, signal handlers that honour it (cli/signals.py) do not raise: they leave
    the exception in `pending`, and it is raised when the outermost held block ends."""
    depth = 0
    pending: BaseException | None = None


HELD = Held()


@contextlib.contextmanager
def uninterrupted():
    """Create-and-record, move-into-place and clean-up steps run whole: a signal arriving
    meanwhile is raised when the block ends."""
    HELD.depth += 1
    try:
        yield
    finally:
        HELD.depth -= 1
        if HELD.depth == 0 and HELD.pending is not None:
            exc, HELD.pending = HELD.pending, None
            raise exc


def raise_pending() -> None:
    """Inside a held block: give up now if a signal arrived (before a step that cannot be undone)."""
    if HELD.pending is not None:
        exc, HELD.pending = HELD.pending, None
        raise exc


@contextlib.contextmanager
def scratch_folder(prefix: str = "nngraph-"):
    """A private temporary folder, removed when the block ends, however it ends."""
    path = None
    try:
        with uninterrupted():
            path = tempfile.mkdtemp(prefix=prefix)
        yield Path(path)
    finally:
        if path is not None:
            with uninterrupted():
                shutil.rmtree(path, ignore_errors=True)


# ---- the manifest ----------------------------------------------------------------------------

def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def walk(folder: Path):
    """(relative posix path, absolute path, lstat) of every entry below folder, parents first;
    symbolic links are reported, never followed."""
    pending = [(folder, "")]
    while pending:
        here, prefix = pending.pop()
        with os.scandir(here) as entries:
            for entry in entries:
                rel = prefix + entry.name
                info = entry.stat(follow_symlinks=False)
                yield rel, Path(entry.path), info
                if stat.S_ISDIR(info.st_mode):
                    pending.append((Path(entry.path), rel + "/"))


def write_manifest(folder: Path) -> None:
    files, folders = {}, []
    for rel, path, info in walk(folder):
        if stat.S_ISDIR(info.st_mode):
            folders.append(rel)
        elif stat.S_ISREG(info.st_mode) and rel != MARKER:
            files[rel] = {"size": info.st_size, "sha256": sha256(path)}
    document = {"nngraph": MARKER_FORMAT,
                "note": "nngraph replaces this folder whole on its next run, as long as every file "
                        "in it is one listed here, unchanged; anything else makes it yours",
                "folders": sorted(folders), "files": dict(sorted(files.items()))}
    (folder / MARKER).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


class NotOurs(Exception):
    """Why a folder is not provably ours."""


def read_manifest(folder: Path) -> dict:
    marker = folder / MARKER
    try:
        info = os.lstat(marker)
    except FileNotFoundError:
        raise NotOurs("it has no .nngraph marker") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MARKER_BYTES:
        raise NotOurs("its .nngraph is not a marker nngraph wrote")
    try:
        text = marker.read_bytes().decode("utf-8")
    except (OSError, ValueError):
        raise NotOurs("its .nngraph is not a marker nngraph wrote") from None
    if text.strip() == OLD_MARKER_TEXT:
        raise NotOurs("an older nngraph wrote it without a list of its files")
    try:
        document = json.loads(text)
    except ValueError:
        raise NotOurs("its .nngraph is not a marker nngraph wrote") from None
    files = document.get("files") if isinstance(document, dict) else None
    folders = document.get("folders") if isinstance(document, dict) else None
    valid = (isinstance(document, dict) and document.get("nngraph") == MARKER_FORMAT
             and isinstance(files, dict) and isinstance(folders, list)
             and all(isinstance(d, str) and plain_relative(d) for d in folders)
             and all(plain_relative(name) and isinstance(f, dict) and type(f.get("size")) is int
                     and isinstance(f.get("sha256"), str) for name, f in files.items()))
    if not valid:
        raise NotOurs("its .nngraph is not a marker nngraph wrote")
    return {"files": files, "folders": set(folders)}


def plain_relative(rel: str) -> bool:
    """A path as write_manifest records one: relative, no `..`, `.` or empty parts."""
    return bool(rel) and not rel.startswith("/") and all(
        part not in ("", ".", "..") for part in rel.split("/")) and "\0" not in rel


def verify(folder: Path) -> dict:
    """The manifest of a folder nngraph wrote and nobody changed since, with the entries
    actually there ("present": what may be deleted); NotOurs otherwise."""
    manifest = read_manifest(folder)
    present = {"files": [], "folders": []}
    manifest["present"] = present
    try:
        for rel, path, info in walk(folder):
            if rel == MARKER:
                continue
            if stat.S_ISDIR(info.st_mode):
                if rel not in manifest["folders"]:
                    raise NotOurs(f"nngraph did not write {rel}/ in it")
                present["folders"].append(rel)
            elif stat.S_ISREG(info.st_mode):
                listed = manifest["files"].get(rel)
                if listed is None:
                    raise NotOurs(f"nngraph did not write {rel} in it")
                if listed["size"] != info.st_size or listed["sha256"] != sha256(path):
                    raise NotOurs(f"{rel} in it changed since nngraph wrote it")
                present["files"].append(rel)
            else:
                raise NotOurs(f"nngraph did not write {rel} in it (not a plain file)")
    except OSError as exc:
        raise NotOurs(f"it cannot be read ({exc.strerror or exc})") from None
    return manifest


# ---- what is at the target, and what may be done with it -------------------------------------

@dataclass
class Found:
    kind: str                  # absent | empty | ours | foreign | link | file
    why: str = ""
    manifest: dict = field(default_factory=dict)


def place_of(target: Path) -> Path:
    """The target's real place: its parent resolved, its own name kept (a symlink there is
    looked at, not followed)."""
    target = Path(target)
    if target.name in ("", ".", ".."):
        return Path(os.path.realpath(target))
    return Path(os.path.realpath(target.parent)) / target.name


def inspect(place: Path) -> Found:
    try:
        info = os.lstat(place)
    except FileNotFoundError:
        return Found("absent")
    if stat.S_ISLNK(info.st_mode):
        return Found("link")
    if not stat.S_ISDIR(info.st_mode):
        return Found("file")
    try:
        with os.scandir(place) as entries:
            if next(entries, None) is None:
                return Found("empty")
    except OSError as exc:
        return Found("foreign", f"it cannot be read ({exc.strerror or exc})")
    try:
        return Found("ours", manifest=verify(place))
    except NotOurs as exc:
        return Found("foreign", str(exc))


def homes() -> set[Path]:
    found = {os.path.expanduser("~")}
    with contextlib.suppress(ImportError, KeyError, OSError):
        import pwd
        found.add(pwd.getpwuid(os.getuid()).pw_dir)
    return {Path(os.path.realpath(h)) for h in found if h and h != "~"}


def protected(place: Path) -> str | None:
    """Why a folder may never be replaced or moved, even with --force."""
    if place.parent == place:
        return "a root"
    try:
        cwd = Path(os.path.realpath(os.getcwd()))
    except OSError:
        cwd = None
    if cwd is not None and (place == cwd or place in cwd.parents):
        return "the current folder or a folder containing it"
    if any(place == home or place in home.parents for home in homes()):
        return "your home folder or a folder containing it"
    if os.path.ismount(place):
        return "a mount point"
    return None


def check_target(target: Path, force: bool) -> Found:
    """What is at target, if nngraph may put its output there; a UserError if not."""
    target = Path(target)
    place = place_of(target)
    why = protected(place)
    if why:
        raise UserError(f"{target}: refusing to replace {why}",
                        hint="name a folder of its own with -o, as -o outputs/mine")
    found = inspect(place)
    if found.kind == "link":
        raise UserError(f"{target} is a symbolic link; nngraph does not write through it",
                        hint="name the folder itself with -o, or a new name")
    if found.kind == "file":
        raise UserError(f"{target} exists and is not a folder", hint="choose another name with -o")
    if found.kind == "foreign":
        if not force:
            raise UserError(f"{target} exists and is not a folder nngraph wrote: {found.why}",
                            hint=f"choose another folder with -o, or pass --force to keep it as "
                                 f"{place.name}.kept-…/ beside the new one")
        if place.parent.parent == place.parent:
            raise UserError(f"{target}: refusing to move a top-level folder aside",
                            hint="name a folder of its own with -o, as -o outputs/mine")
    return found


def warn(text: str) -> None:
    """One `warning:` line on stderr: where a folder that is not provably ours was kept."""
    print(terminal_safe(f"warning: {text}"), file=sys.stderr, flush=True)


def shown(target: Path, folder: Path) -> str:
    """folder, a sibling of target, named the way the user named target."""
    return f"{target.with_name(folder.name) if target.name not in ('', '.', '..') else folder}/"


# ---- moving folders --------------------------------------------------------------------------

def short(name: str, limit: int = 200) -> str:
    """A name cut to `limit` bytes, so a temporary name built on it (a dot, 8 random characters,
    .old) stays under the 255 bytes a file name may have: a 250-character -o works."""
    cut = name.encode("utf-8", "surrogateescape")[:limit]
    return cut.decode("utf-8", "ignore") if len(cut) < len(name.encode("utf-8", "surrogateescape")) else name


def move_to_fresh_name(folder: Path, prefix: str, suffix: str = "") -> Path:
    """Rename folder to a new name beside it that nothing else has: mkdtemp reserves the name
    (an empty folder) and the rename replaces that empty folder."""
    fresh = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=folder.parent))
    try:
        folder.rename(fresh)
    except FileExistsError:                  # systems whose rename will not replace a folder
        fresh.rmdir()
        folder.rename(fresh)
    except BaseException:
        with contextlib.suppress(OSError):
            fresh.rmdir()
        raise
    return fresh


def remove_if_ours(folder: Path) -> str | None:
    """Delete folder entry by entry if it is (still) empty or provably ours; None when done,
    or why it was kept."""
    found = inspect(folder)
    if found.kind not in ("empty", "ours"):
        return found.why or "it is not a folder nngraph wrote"
    try:
        if found.kind == "ours":              # what is there and proved ours, nothing by name alone
            present = found.manifest["present"]
            for rel in present["files"]:
                os.unlink(folder / rel)
            for rel in sorted(present["folders"], key=lambda r: r.count("/"), reverse=True):
                os.rmdir(folder / rel)                # fails if anything unlisted appeared
            os.unlink(folder / MARKER)
        os.rmdir(folder)
    except OSError as exc:
        return f"it could not be removed whole ({exc.strerror or exc})"
    return None


def replace_folder(staging: Path, target: Path, force: bool) -> None:
    """Move the complete staging folder to target. An earlier folder there is moved aside to a
    fresh name first and removed only once the new one is in place, and only if it is ours;
    a foreign one (--force) is kept as NAME.kept-XXXX beside it."""
    place = place_of(target)
    found = check_target(target, force)       # again: the folder may have changed during the run
    aside = None
    if found.kind == "foreign":
        aside = move_to_fresh_name(place, prefix=f"{short(place.name)}.kept-")
    elif found.kind in ("empty", "ours"):
        aside = move_to_fresh_name(place, prefix=f".{short(place.name)}.", suffix=".old")
    try:
        raise_pending()                       # a signal so far: leave everything as it was
        staging.rename(place)
    except BaseException:
        if aside is not None:
            try:
                aside.rename(place)           # the earlier folder comes back
            except OSError:
                warn(f"the earlier {target} is now {shown(target, aside)}")
        raise
    if found.kind == "foreign":
        warn(f"{target} is not a folder nngraph wrote ({found.why}); kept it as {shown(target, aside)}")
    elif aside is not None:
        why = remove_if_ours(aside)
        if why:                               # changed while nngraph ran: keep it, visibly
            try:
                aside = move_to_fresh_name(aside, prefix=f"{short(place.name)}.kept-")
            except OSError:
                pass
            warn(f"kept the earlier {target} as {shown(target, aside)}: {why}")


@contextlib.contextmanager
def staged_folder(target: Path, force: bool):
    """A new staging folder beside target to write into; when the block ends without an error
    it gets its manifest and replaces target whole, otherwise it is removed."""
    target = Path(target)
    try:
        check_target(target, force)
        place = place_of(target)
        place.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write(target, exc) from exc
    staging = None
    try:
        with uninterrupted():
            staging = Path(tempfile.mkdtemp(prefix=f".{short(place.name)}.", dir=place.parent))
        staging.chmod(0o755)
        yield staging
        with uninterrupted():
            write_manifest(staging)
            replace_folder(staging, target, force)
            staging = None
    except BaseException as exc:
        if staging is not None:
            with uninterrupted():
                shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise cannot_write(target, exc) from exc
        raise
