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
from pathlib import Path

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


# ---- formulas ------------------------------------------------------------------------------------

def expression_commands() -> list[str]:
    lines = (EXAMPLES / "expressions.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith("nngraph ")]


def expressions() -> None:
    folder = fresh("expressions")
    for number, line in enumerate(expression_commands()):
        out = folder / f"{number:02d}"
        printed = nngraph("-o", str(out), "--no-frames", *shlex.split(line)[1:])
        keep_one_picture(out, f"{number:02d}", printed)
    write_readme_tables()


def expression_rows() -> list[str]:
    rows = ["| formula exercises (`examples/expressions.txt`) | |", "|---|---|"]
    for number, line in enumerate(expression_commands()):
        rows.append(f"| `{line}` | {link('expressions', f'{number:02d}')} |")
    return rows


# ---- network specs -------------------------------------------------------------------------------

def specs() -> list[Path]:
    return sorted((EXAMPLES / "nets").glob("*.toml"))


def spec_title(path: Path) -> str:
    with path.open("rb") as file:
        return str(tomllib.load(file).get("title") or path.stem)


def spec_command(path: Path) -> list[str]:
    """`nngraph examples/nets/<file>`, or the command of the spec's `# gallery: …` line."""
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\s*#\s*gallery:\s*(.*)$", line)
        if found:
            command = shlex.split(found.group(1))
            if command[:2] != ["nngraph", f"examples/nets/{path.name}"]:
                raise SystemExit(f"{path}: its `# gallery:` line must run nngraph examples/nets/{path.name}")
            return command
    return ["nngraph", f"examples/nets/{path.name}"]


def networks() -> None:
    folder = fresh("nets")
    for spec in specs():
        out = folder / spec.stem
        printed = nngraph("-o", str(out), "--no-frames", str(spec), *spec_command(spec)[2:])
        keep_one_picture(out, spec.stem, printed)
    write_readme_tables()


def network_rows() -> list[str]:
    rows = ["| exercise | command | |", "|---|---|---|"]
    for spec in specs():
        rows.append(f"| {spec_title(spec)} | `{' '.join(spec_command(spec))}` | {link('nets', spec.stem)} |")
    return rows


# ---- programs ------------------------------------------------------------------------------------

def program_files() -> list[Path]:
    return sorted((EXAMPLES / "programs").glob("*.nn"))


def program_command(path: Path) -> list[str]:
    """The first `nngraph examples/programs/…` command of the file's header, as arguments."""
    for line in path.read_text(encoding="utf-8").splitlines():
        command = line.lstrip("# ").strip()
        if command.startswith(f"nngraph examples/programs/{path.name}"):
            return shlex.split(command)
    raise SystemExit(f"{path}: its header gives no `nngraph examples/programs/{path.name}` command")


def program_title(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").rstrip(".")


def programs() -> None:
    folder = fresh("programs")
    for path in program_files():
        out = folder / path.stem
        printed = nngraph("-o", str(out), "--no-frames", str(path), *program_command(path)[2:])
        keep_one_picture(out, path.stem, printed)
    write_readme_tables()


def program_rows() -> list[str]:
    rows = ["| program (`examples/programs/`) | command | |", "|---|---|---|"]
    for path in program_files():
        rows.append(f"| {program_title(path)} | `{' '.join(program_command(path))}` | {link('programs', path.stem)} |")
    return rows


# ---- the README ----------------------------------------------------------------------------------

TABLES = {"expressions": expression_rows, "networks": network_rows, "programs": program_rows}


def markers(table: str) -> tuple[str, str]:
    return f"<!-- {table}: examples/gallery.py writes this table -->", f"<!-- end of {table} -->"


def readme_tables(text: str) -> str:
    """The README text with each table as the example files and the pictures on disk give it."""
    for table, rows in TABLES.items():
        start, end = markers(table)
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md: no {start} … {end} lines to write the table between")
        text = pattern.sub(lambda _: "\n".join([start, *rows(), end]), text)
    return text


def write_readme_tables() -> None:
    """Rewrite the README's tables: the one just rendered, and the others as the files give them."""
    text = README.read_text(encoding="utf-8")
    README.write_text(readme_tables(text), encoding="utf-8")


PARTS = {"flagship": flagship, "expressions": expressions, "networks": networks, "programs": programs}


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(PARTS)
    unknown = [name for name in chosen if name not in PARTS]
    if unknown:
        raise SystemExit(f"unknown part {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    if chosen == list(PARTS):
        shutil.rmtree(GALLERY, ignore_errors=True)
    for name in chosen:
        PARTS[name]()
