"""Output folders (issue 9): nngraph deletes or replaces only what it can prove it wrote, with or
without --force; temporary names never collide with a user's files; a `dot` that writes junk
or nothing is a Graphviz failure (exit 3).

Every run goes through the real entry point in-process (the `nngraph` fixture of conftest.py,
which also holds each run to the output contract). After each run the whole tree around the
output folder is compared with a snapshot taken before: paths, types, permissions, contents
and symlink targets.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from graphviz_nn.cli import main
from graphviz_nn.render import export, files, layout
from graphviz_nn.render.files import MARKER

RUN = ("x*y", "--at", "x=1,y=2", "--no-gif")       # graph.svg, frames/, index.html: a few 100 ms


# ---- helpers ---------------------------------------------------------------------------------

def snapshot(root: Path) -> dict:
    """Every entry below root, symlinks not followed: (type, permissions, content or link target)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                entry = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entry = ("dir", stat.S_IMODE(info.st_mode))
            elif stat.S_ISREG(info.st_mode):
                entry = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
            else:
                entry = ("other", stat.S_IFMT(info.st_mode))
            found[path.relative_to(root).as_posix()] = entry
    return found


def under(tree: dict, prefix: str) -> dict:
    """The entries of a snapshot below prefix/, re-rooted there."""
    return {k[len(prefix) + 1:]: v for k, v in tree.items() if k.startswith(prefix + "/")}


def outside(tree: dict, *prefixes: str) -> dict:
    return {k: v for k, v in tree.items()
            if not any(k == p or k.startswith(p + "/") for p in prefixes)}


def complete(folder: Path) -> None:
    """A whole nngraph output: its manifest proves every entry, and lists nothing missing."""
    manifest = files.verify(folder)
    assert manifest["files"] and all((folder / f).is_file() for f in manifest["files"])
    assert all((folder / d).is_dir() for d in manifest["folders"])
    assert {"graph.svg", "index.html"} <= set(manifest["files"]) and "frames" in manifest["folders"]


def quietly(argv) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> Path:
    """A folder nngraph wrote, to copy into layouts."""
    folder = tmp_path_factory.mktemp("template") / "out"
    assert quietly([*RUN, "-o", folder]) == 0
    complete(folder)
    return folder


# ---- the cases of the issue ------------------------------------------------------------------

def test_a_users_dot_old_folder_is_never_touched(nngraph, tmp_path):
    old = tmp_path / ".out.old"
    old.mkdir()
    (old / "thesis.tex").write_text("precious")
    before = snapshot(tmp_path)
    for _ in range(3):                                   # first run, then twice replacing our own
        assert nngraph(*RUN, "-o", tmp_path / "out")[0] == 0
    after = snapshot(tmp_path)
    assert outside(after, "out") == outside(before, "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old", "out"]
    complete(tmp_path / "out")


@pytest.mark.parametrize("kind", ["file", "symlink", "dangling symlink"])
def test_an_entry_named_like_an_old_temporary_name_breaks_nothing(nngraph, tmp_path, kind):
    for name in (".out.old", ".link.old", ".out.old.1"):
        entry = tmp_path / name
        if kind == "file":
            entry.write_text("mine")
        else:
            entry.symlink_to(tmp_path / "elsewhere" if kind == "symlink" else tmp_path / "nowhere")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep").write_text("mine")
    before = snapshot(tmp_path)
    for _ in range(2):
        assert nngraph(*RUN, "-o", tmp_path / "out")[0] == 0
    assert outside(snapshot(tmp_path), "out") == before


def test_home_and_every_folder_containing_it_are_refused_even_with_force(nngraph, tmp_path, monkeypatch):
    home = tmp_path / "home" / "me"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "todo").write_text("precious")
    (tmp_path / "home" / "other").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    for target in ("~/..", "~", str(tmp_path / "home"), str(home / "notes" / "..")):
        status, _, err = nngraph(*RUN, "-o", os.path.expanduser(target), "--force")
        assert status == 2 and "refusing to replace your home folder or a folder containing it" in err, target
    for target in ("~/../..", "/"):
        status, _, err = nngraph(*RUN, "-o", os.path.expanduser(target), "--force")
        assert status == 2 and "refusing to replace" in err, target
    for target in (".", "..", str(work)):
        status, _, err = nngraph(*RUN, "-o", target, "--force")
        assert status == 2 and "refusing to replace the current folder" in err, target
    assert snapshot(tmp_path) == before


def test_roots_and_mount_points_are_refused(nngraph, tmp_path, monkeypatch):
    assert files.protected(Path("/")) == "a root"
    mounted = tmp_path / "disk"
    mounted.mkdir()
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == mounted or real_ismount(p))
    status, _, err = nngraph(*RUN, "-o", mounted, "--force")
    assert status == 2 and "refusing to replace a mount point" in err
    assert snapshot(tmp_path) == {"disk": ("dir", stat.S_IMODE(os.lstat(mounted).st_mode))}


def test_a_top_level_folder_is_not_moved_aside(tmp_path):
    with pytest.raises(files.UserError, match="top-level"):
        files.check_target(Path("/usr"), force=True)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("points_to", ["ours", "foreign", "file", "nothing"])
def test_a_symlink_as_output_is_refused_and_leaves_nothing_behind(nngraph, tmp_path, ours, force, points_to):
    real = tmp_path / "real"
    if points_to == "ours":
        shutil.copytree(ours, real, symlinks=True)
    elif points_to == "foreign":
        real.mkdir()
        (real / "mine.txt").write_text("precious")
    elif points_to == "file":
        real.write_text("precious")
    link = tmp_path / "link"
    link.symlink_to(real)
    before = snapshot(tmp_path)
    for _ in range(2):                                  # and the next run says the same
        status, _, err = nngraph(*RUN, "-o", link, *(["--force"] if force else []))
        assert status == 2 and "is a symbolic link" in err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("force", [False, True])
def test_a_file_as_output_is_refused(nngraph, tmp_path, force):
    (tmp_path / "out").write_text("precious")
    before = snapshot(tmp_path)
    status, _, err = nngraph(*RUN, "-o", tmp_path / "out", *(["--force"] if force else []))
    assert status == 2 and "is not a folder" in err and snapshot(tmp_path) == before


MARKERS = {
    "the text of an older nngraph": "written by nngraph; the next run replaces this folder\n",
    "junk": "hello\n",
    "JSON of another format": '{"nngraph": "something else", "files": {}, "folders": []}',
    "a manifest without the user's file": None,              # filled in from the template
}


@pytest.mark.parametrize("marker", list(MARKERS))
def test_a_marker_is_checked_not_trusted(nngraph, tmp_path, ours, marker):
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    (out / "thesis.tex").write_text("precious")
    if MARKERS[marker] is not None:
        (out / MARKER).write_text(MARKERS[marker])
    before = snapshot(tmp_path)
    status, _, err = nngraph(*RUN, "-o", out)
    assert status == 2 and "--force" in err and "is not a folder nngraph wrote" in err
    assert snapshot(tmp_path) == before
    if marker == "the text of an older nngraph":
        assert "older nngraph" in err


@pytest.mark.parametrize("listed", ["../victim", "/tmp/victim", "frames/../../victim", "./graph.svg", ""])
def test_a_marker_listing_paths_outside_the_folder_is_not_ours(nngraph, tmp_path, ours, listed):
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    manifest = json.loads((out / MARKER).read_text())
    manifest["files"][listed] = {"size": 8, "sha256": "0" * 64}
    (out / MARKER).write_text(json.dumps(manifest))
    (tmp_path / "victim").write_text("precious")
    before = snapshot(tmp_path)
    with pytest.raises(files.NotOurs):
        files.verify(out)
    status, _, err = nngraph(*RUN, "-o", out)
    assert status == 2 and snapshot(tmp_path) == before


def test_only_entries_that_are_there_and_proved_are_deleted(tmp_path, ours, monkeypatch):
    """Deleting goes by what is found in the folder, never by a name the marker lists."""
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    (tmp_path / "victim").write_text("precious")
    (tmp_path / "victims").mkdir()
    real = files.read_manifest

    def forged(folder):
        manifest = real(folder)
        manifest["files"]["../victim"] = {"size": 8, "sha256": "0" * 64}
        manifest["folders"].add("../victims")
        return manifest
    monkeypatch.setattr(files, "read_manifest", forged)
    assert files.remove_if_ours(out) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim", "victims"]
    assert (tmp_path / "victim").read_text() == "precious"


@pytest.mark.parametrize("change", ["a file added", "a folder added", "a file edited, same size",
                                    "a symlink added", "the marker removed"])
def test_a_folder_we_wrote_that_the_user_changed_is_theirs(nngraph, tmp_path, ours, change):
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    if change == "a file added":
        (out / "frames" / "notes.txt").write_text("mine")
    elif change == "a folder added":
        (out / "mine").mkdir()
    elif change == "a file edited, same size":
        data = bytearray((out / "graph.svg").read_bytes())
        data[-10] ^= 1
        (out / "graph.svg").write_bytes(bytes(data))
    elif change == "a symlink added":
        (out / "frames" / "link").symlink_to(tmp_path)
    else:
        (out / MARKER).unlink()
    before = snapshot(tmp_path)
    status, _, err = nngraph(*RUN, "-o", out)
    assert status == 2 and snapshot(tmp_path) == before
    # --force keeps it whole under a new name beside the new output, and says so
    status, _, err = nngraph(*RUN, "-o", out, "--force")
    assert status == 0
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("out.kept-")]
    assert len(kept) == 1 and f"kept it as {kept[0]}/" in err and err.startswith("warning: ")
    assert snapshot(kept[0]) == under(before, "out")
    complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", kept[0].name])


def test_files_the_user_deleted_from_our_folder_do_not_make_it_theirs(nngraph, tmp_path, ours):
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    shutil.rmtree(out / "frames")
    (out / "index.html").unlink()
    assert nngraph(*RUN, "-o", out)[0] == 0
    complete(out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_empty_folder_is_used(nngraph, tmp_path):
    (tmp_path / "out").mkdir()
    assert nngraph(*RUN, "-o", tmp_path / "out")[0] == 0
    complete(tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_file_added_while_nngraph_runs_is_not_deleted(nngraph, tmp_path, ours, monkeypatch):
    """The folder is checked again just before it is replaced."""
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    real = export.write_all

    def meanwhile(*args, **kwargs):
        (out / "added.txt").write_text("mine")
        return real(*args, **kwargs)
    monkeypatch.setattr(export, "write_all", meanwhile)
    before = snapshot(tmp_path)
    status, _, err = nngraph(*RUN, "-o", out)
    assert status == 2 and "added.txt" in err
    after = snapshot(tmp_path)
    assert after == {**before, "out/added.txt": after["out/added.txt"]}


def test_a_file_added_to_the_earlier_folder_after_it_moved_aside_is_kept(nngraph, tmp_path, ours, monkeypatch):
    """The earlier folder is proved ours again when it is deleted, entry by entry."""
    out = tmp_path / "out"
    shutil.copytree(ours, out, symlinks=True)
    before = snapshot(tmp_path)
    real = files.move_to_fresh_name

    def move(folder, prefix, suffix=""):
        moved = real(folder, prefix, suffix)
        if suffix == ".old":
            (moved / "frames" / "late.txt").write_text("mine")
        return moved
    monkeypatch.setattr(files, "move_to_fresh_name", move)
    status, _, err = nngraph(*RUN, "-o", out)
    assert status == 0 and "kept the earlier" in err
    complete(out)
    kept = [p for p in tmp_path.iterdir() if p.name != "out"]
    assert len(kept) == 1 and kept[0].name.startswith("out.kept-")
    kept_tree = snapshot(kept[0])
    assert kept_tree.pop("frames/late.txt")[2] == b"mine" and kept_tree == under(before, "out")


def test_temporary_names_are_fresh(tmp_path):
    """Staging and set-aside names come from mkdtemp: whatever is already there, a new one."""
    taken = {f".out.{c * 8}" for c in "abc"} | {".out.old", "out.kept-x"}
    for name in taken:
        (tmp_path / name).mkdir()
    before = snapshot(tmp_path)
    moved = []
    for i in range(3):                          # each move gets a name of its own, none reused
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "n").write_text(str(i))
        moved.append(files.move_to_fresh_name(tmp_path / "out", prefix=".out.", suffix=".old"))
    assert all(m.name.startswith(".out.") and m.name.endswith(".old") for m in moved)
    assert [(m / "n").read_text() for m in moved] == ["0", "1", "2"]
    assert {p.name for p in tmp_path.iterdir()} == taken | {m.name for m in moved}
    assert {k: v for k, v in snapshot(tmp_path).items() if k.split("/")[0] in taken} == before


# ---- `dot` that misbehaves -------------------------------------------------------------------

FAKE_DOTS = {
    "junk": 'for a in "$@"; do case "$a" in -o*) echo "junk {" > "${a#-o}";; esac; done',
    "nothing": ":",
    "empty files": 'for a in "$@"; do case "$a" in -o*) : > "${a#-o}";; esac; done',
    "svg, but not Graphviz's": 'for a in "$@"; do case "$a" in -o*) echo "<svg></svg>" > "${a#-o}";; esac; done',
    "not utf-8": 'for a in "$@"; do case "$a" in -o*) printf "\\377\\376" > "${a#-o}";; esac; done',
}


@pytest.mark.parametrize("behaviour", list(FAKE_DOTS))
def test_a_dot_that_writes_junk_or_nothing_is_a_graphviz_failure(nngraph, tmp_path, monkeypatch, behaviour):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\n" + FAKE_DOTS[behaviour] + "\nexit 0\n")
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ.get('PATH', '')}")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    (tmp_path / "parent").mkdir()
    status, _, err = nngraph(*RUN, "-o", tmp_path / "parent" / "out")
    assert status == 3 and err.startswith("error: Graphviz failed: `dot`"), err
    assert list((tmp_path / "parent").iterdir()) == [] and list(scratch.iterdir()) == []


@pytest.mark.parametrize("json_text, message", [("[1, 2", "not a Graphviz JSON layout"),
                                                 ("[1, 2]", "not a Graphviz JSON layout"),
                                                 ("", "wrote no layout.json")])
def test_dot_coordinates_are_checked(tmp_path, monkeypatch, json_text, message):
    """The JSON layout (PDF frames) from a real SVG and a broken JSON."""
    real = layout.program("dot")
    fake = tmp_path / "dot"
    fake.write_text(f'#!/bin/sh\n"{real}" "$@" || exit\nprintf %s \'{json_text}\' > layout.json\n')
    fake.chmod(0o755)
    monkeypatch.setattr(layout, "program", lambda name="dot": str(fake))
    assert layout.layout("digraph { a -> b }", coordinates=False).svg
    with pytest.raises(layout.GraphvizError, match=message):
        layout.layout("digraph { a -> b }", coordinates=True)


def test_dot_output_is_checked_in_the_library_too(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setattr(layout, "program", lambda name="dot": str(fake))
    with pytest.raises(layout.GraphvizError, match="wrote no layout.svg"):
        layout.layout("digraph { a -> b }")


# ---- the fuzzer ------------------------------------------------------------------------------

REPLACEABLE = ["absent", "empty folder", "ours", "ours, files deleted"]
FOREIGN = ["ours + a file", "ours + a folder", "ours, a file edited", "ours + a symlink out",
           "ours + a fifo", "ours, marker junk", "ours, marker of an older nngraph",
           "ours, marker is a folder", "ours, marker is a symlink", "ours, marker removed",
           "a user's folder", "a user's folder with a .nngraph file", "a user's folder of one empty folder"]
REFUSED = ["symlink to ours", "symlink to a user's folder", "symlink to a file", "dangling symlink",
           "a file", "a fifo"]
SIBLINGS = [".out.old", ".out.old.1", "out.old", ".out.abcdefgh", ".out.abcdefgh.old", "out.kept-abc",
            ".out", "out~", ".nngraph"]
SIBLING_KINDS = ["folder", "file", "symlink to elsewhere", "ours", "empty folder"]


def build_target(out: Path, kind: str, ours: Path, elsewhere: Path) -> None:
    if kind == "absent":
        return
    if kind.startswith("ours"):
        shutil.copytree(ours, out, symlinks=True)
    change = kind.partition(", ")[2] or kind.partition(" + ")[2]
    if change == "files deleted":
        (out / "index.html").unlink()
        shutil.rmtree(out / "frames")
    elif change == "a file":
        (out / "frames" / "mine.txt").write_text("mine")
    elif change == "a folder":
        (out / "mine").mkdir()
    elif change == "a file edited":
        (out / "graph.svg").write_bytes((out / "graph.svg").read_bytes().replace(b"<svg", b"<SVG", 1))
    elif change == "a symlink out":
        (out / "elsewhere").symlink_to(elsewhere)           # must never be followed
    elif change == "a fifo":
        os.mkfifo(out / "pipe")
    elif change == "marker junk":
        (out / MARKER).write_text("{ not json")
    elif change == "marker of an older nngraph":
        (out / MARKER).write_text("written by nngraph; the next run replaces this folder\n")
    elif change == "marker is a folder":
        (out / MARKER).unlink()
        (out / MARKER).mkdir()
    elif change == "marker is a symlink":
        (out / MARKER).unlink()
        (out / MARKER).symlink_to(ours / MARKER)
    elif change == "marker removed":
        (out / MARKER).unlink()
    elif kind == "empty folder":
        out.mkdir()
    elif kind.startswith("a user's folder"):
        out.mkdir()
        if kind.endswith("one empty folder"):
            (out / "empty").mkdir()
        else:
            (out / "thesis.tex").write_text("precious")
            (out / "data").mkdir()
            (out / "data" / "x.csv").write_text("1,2\n")
            if kind.endswith(".nngraph file"):
                (out / MARKER).write_text("my own notes called .nngraph\n")
    elif kind.startswith("symlink to"):
        real = {"ours": ours, "a user's folder": elsewhere, "a file": elsewhere / "file"}[kind[11:]]
        out.symlink_to(real)
    elif kind == "dangling symlink":
        out.symlink_to(out.parent / "nowhere")
    elif kind == "a file":
        out.write_text("precious")
    elif kind == "a fifo":
        os.mkfifo(out)


def build_sibling(path: Path, kind: str, ours: Path, elsewhere: Path) -> None:
    if kind == "folder":
        path.mkdir()
        (path / "mine.txt").write_text(f"mine: {path.name}")
    elif kind == "file":
        path.write_text(f"mine: {path.name}")
    elif kind == "symlink to elsewhere":
        path.symlink_to(elsewhere)
    elif kind == "ours":
        shutil.copytree(ours, path, symlinks=True)
    else:
        path.mkdir()


def check_layout(nngraph, ours, target_kind, siblings, force, nested):
    root = Path(tempfile.mkdtemp(prefix="layout-", dir=os.getcwd()))
    try:
        elsewhere = root / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "file").write_text("precious")
        (elsewhere / "sub").mkdir()
        (elsewhere / "sub" / "deep.txt").write_text("precious")
        parent = root / "p" / "q" if nested else root / "p"
        parent.mkdir(parents=True)
        out = parent / "out"
        build_target(out, target_kind, ours, elsewhere)
        for name, kind in siblings.items():
            build_sibling(parent / name, kind, ours, elsewhere)
        before = snapshot(root)
        rel = out.relative_to(root).as_posix()
        status, _, err = nngraph(*RUN, "-o", out, *(["--force"] if force else []))
        after = snapshot(root)

        if target_kind in REFUSED or (target_kind in FOREIGN and not force):
            assert status == 2, err
            assert after == before
            return
        assert status == 0, err
        complete(out)
        kept = sorted(p.name for p in parent.iterdir() if p.name.startswith("out.kept-")
                      and p.name not in siblings)
        if target_kind in FOREIGN:                       # --force: kept whole, beside the new one
            assert len(kept) == 1 and "warning: " in err
            krel = f"{parent.relative_to(root).as_posix()}/{kept[0]}"
            assert under(after, krel) == under(before, rel)
            assert outside(after, rel, krel) == outside(before, rel)
        else:
            assert kept == [] and not err
            assert outside(after, rel) == outside(before, rel)
    finally:
        shutil.rmtree(root)


layouts = dict(
    target_kind=st.sampled_from(REPLACEABLE + FOREIGN + REFUSED),
    siblings=st.dictionaries(st.sampled_from(SIBLINGS), st.sampled_from(SIBLING_KINDS), max_size=4),
    force=st.booleans(),
    nested=st.booleans(),
)


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("target_kind", REPLACEABLE + FOREIGN + REFUSED)
def test_every_kind_of_target(nngraph, ours, target_kind, force):
    check_layout(nngraph, ours, target_kind, {".out.old": "folder", "out.kept-abc": "ours"}, force, False)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**layouts)
def test_file_system_layouts_quick(nngraph, ours, target_kind, siblings, force, nested):
    check_layout(nngraph, ours, target_kind, siblings, force, nested)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**layouts)
def test_file_system_layouts(nngraph, ours, target_kind, siblings, force, nested):
    check_layout(nngraph, ours, target_kind, siblings, force, nested)
