"""Renders the gallery the README shows (outputs/gallery/) with the nngraph command itself.

    python examples/gallery.py                  # everything
    python examples/gallery.py programs         # one part: flagship, expressions, networks, programs

The flagship keeps its GIF and a few frames; every other example keeps its finished picture
(for a training run: the picture of its first step). Each part replaces its folder whole, so
the pictures of examples that no longer exist go with it.

The expressions, networks and programs parts also rewrite the README's table of that part,
between its two marker lines (`<!-- networks: examples/gallery.py writes this table -->` …
`<!-- end of networks -->`):

- a formula: the command of examples/expressions.txt;
- a network spec: its `title`, the command, the picture. The command is
  `nngraph examples/nets/<file>` — or the one a comment line `# gallery: nngraph examples/nets/<file> …`
  gives, for a spec best shown with options (`--view grid`). A spec that writes no picture (a
  summary only) is linked to a text file of what the command prints;
- a program: the file's first header line, the first `nngraph examples/programs/<file> …` command
  its header gives (options included: `--view grid`, `--expand`), and its picture.

readme_tables() gives the tables from the example files and the pictures on disk, without
rendering: tests/test_examples.py holds the README to it.
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import sys
import tomllib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

from graphviz_nn.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GALLERY = ROOT / "outputs" / "gallery"
README = ROOT / "README.md"
KEEP_FRAMES = {"000.svg", "003.svg", "008.svg", "012.svg", "015.svg"}


def nngraph(*args: str) -> str:
    """Run nngraph as a user would (options first: the arguments may hold `--`); return what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = main(["--force"] + list(args))
    if status not in (0, 1):
        raise SystemExit(f"nngraph {' '.join(args)} failed with status {status}")
    return printed.getvalue()


def flagship() -> None:
    folder = GALLERY / "flagship"
    nngraph("x**2+x*y+(x+y)**2", "--at", "x=1,y=2", "-o", str(folder))
    (folder / "index.html").unlink()
    for frame in (folder / "frames").iterdir():
        if frame.name not in KEEP_FRAMES:
            frame.unlink()


def keep_one_picture(folder: Path, name: str, printed: str = "") -> None:
    """folder/graph.svg (or the first step's) becomes name.svg beside the folder; a run that drew
    nothing (a spec's summary) keeps what it printed as name.txt instead."""
    for picture in (folder / "graph.svg", folder / "step001" / "graph.svg"):
        if picture.exists():
            shutil.copy(picture, folder.parent / f"{name}.svg")
            break
    else:
        (folder.parent / f"{name}.txt").write_text(printed, encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)


def fresh(part: str) -> Path:
    folder = GALLERY / part
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def link(part: str, name: str) -> str:
    """The README's link to an example's picture, or to the text it printed if it drew none."""
    for suffix, word in ((".svg", "picture"), (".txt", "output")):
        if (GALLERY / part / f"{name}{suffix}").exists():
            return f"[{word}](outputs/gallery/{part}/{name}{suffix})"
    return "(not rendered: run `python examples/gallery.py`)"


# ---- the three kinds of example ---------------------------------------------------------------

class Example(NamedTuple):
    name: str            # the picture's name in its gallery folder
    command: str         # as the README shows it, `nngraph …`
    args: list[str]      # what the gallery runs (the example's file by its full path)
    title: str | None    # the README's first column (formulas have none: the command says it)


def expression_examples() -> list[Example]:
    lines = (EXAMPLES / "expressions.txt").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines if line.startswith("nngraph ")]
    return [Example(f"{number:02d}", command, shlex.split(command)[1:], None)
            for number, command in enumerate(commands)]


def spec_examples() -> list[Example]:
    return [example(path, spec_command(path), spec_title(path)) for path in sorted((EXAMPLES / "nets").glob("*.toml"))]


def example(path: Path, command: str, title: str) -> Example:
    """An example file run by its command (`nngraph examples/…/<file> [options]`)."""
    return Example(path.stem, command, [str(path), *shlex.split(command)[2:]], title)


def spec_title(path: Path) -> str:
    with path.open("rb") as file:
        return str(tomllib.load(file).get("title") or path.stem)


def spec_command(path: Path) -> str:
    """`nngraph examples/nets/<file>`, or the command of the spec's `# gallery: …` line."""
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\s*#\s*gallery:\s*(.*)$", line)
        if found:
            command = found.group(1).strip()
            if shlex.split(command)[:2] != ["nngraph", f"examples/nets/{path.name}"]:
                raise SystemExit(f"{path}: its `# gallery:` line must run nngraph examples/nets/{path.name}")
            return command
    return f"nngraph examples/nets/{path.name}"


def program_examples() -> list[Example]:
    return [example(path, program_command(path), path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").rstrip("."))
            for path in sorted((EXAMPLES / "programs").glob("*.nn"))]


def program_command(path: Path) -> str:
    """The first `nngraph examples/programs/…` command of the file's header."""
    for line in path.read_text(encoding="utf-8").splitlines():
        command = line.lstrip("# ").strip()
        if command.startswith(f"nngraph examples/programs/{path.name}"):
            return command
    raise SystemExit(f"{path}: its header gives no `nngraph examples/programs/{path.name}` command")


class Kind(NamedTuple):
    folder: str                       # under outputs/gallery/
    header: tuple[str, str]           # the README table's first two lines
    examples: Callable[[], list[Example]]


KINDS = {
    "expressions": Kind("expressions", ("| formula exercises (`examples/expressions.txt`) | |", "|---|---|"),
                        expression_examples),
    "networks": Kind("nets", ("| exercise | command | |", "|---|---|---|"), spec_examples),
    "programs": Kind("programs", ("| program (`examples/programs/`) | command | |", "|---|---|---|"),
                     program_examples),
}


def render(kind: Kind) -> None:
    folder = fresh(kind.folder)
    for example in kind.examples():
        out = folder / example.name
        printed = nngraph("-o", str(out), "--no-frames", *example.args)
        keep_one_picture(out, example.name, printed)
    write_readme_tables()


def rows(kind: Kind) -> list[str]:
    lines = list(kind.header)
    for example in kind.examples():
        cells = ([example.title] if example.title else []) + [f"`{example.command}`", link(kind.folder, example.name)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# ---- the README ----------------------------------------------------------------------------------

def markers(table: str) -> tuple[str, str]:
    return f"<!-- {table}: examples/gallery.py writes this table -->", f"<!-- end of {table} -->"


def readme_tables(text: str) -> str:
    """The README text with each table as the example files and the pictures on disk give it."""
    for table, kind in KINDS.items():
        start, end = markers(table)
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md: no {start} … {end} lines to write the table between")
        text = pattern.sub(lambda _, kind=kind: "\n".join([start, *rows(kind), end]), text)
    return text


def write_readme_tables() -> None:
    """Rewrite the README's tables: the one just rendered, and the others as the files give them."""
    text = README.read_text(encoding="utf-8")
    README.write_text(readme_tables(text), encoding="utf-8")


PARTS = {"flagship": flagship} | {name: partial(render, kind) for name, kind in KINDS.items()}


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(PARTS)
    unknown = [name for name in chosen if name not in PARTS]
    if unknown:
        raise SystemExit(f"unknown part {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    if chosen == list(PARTS):
        shutil.rmtree(GALLERY, ignore_errors=True)
    for name in chosen:
        PARTS[name]()
