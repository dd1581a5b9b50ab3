"""Renders the gallery the README shows (outputs/gallery/) with the nngraph command itself.

    python examples/gallery.py                  # everything
    python examples/gallery.py programs         # one part: flagship, expressions, networks, programs

The flagship keeps its GIF and a few frames; every other example keeps its finished picture
(for a training run: the picture of its first step). The programs' part also rewrites the
README's table of programs (between its two marker lines): each file's first header line, the
first command its header gives, and its picture.
"""
import re
import shlex
import shutil
import sys
from pathlib import Path

from graphviz_nn.cli import main

ROOT = Path(__file__).resolve().parent.parent
GALLERY = ROOT / "outputs" / "gallery"
KEEP_FRAMES = {"000.svg", "003.svg", "008.svg", "012.svg", "015.svg"}


def nngraph(*args: str) -> None:
    status = main(["--force"] + list(args))
    if status not in (0, 1):
        raise SystemExit(f"nngraph {' '.join(args)} failed with status {status}")


def flagship() -> None:
    folder = GALLERY / "flagship"
    nngraph("x**2+x*y+(x+y)**2", "--at", "x=1,y=2", "-o", str(folder))
    (folder / "index.html").unlink()
    for frame in (folder / "frames").iterdir():
        if frame.name not in KEEP_FRAMES:
            frame.unlink()


def keep_one_picture(folder: Path, name: str) -> None:
    picture = folder / "graph.svg" if (folder / "graph.svg").exists() else folder / "step001" / "graph.svg"
    shutil.copy(picture, folder.parent / f"{name}.svg")
    shutil.rmtree(folder)


def expressions() -> None:
    lines = (ROOT / "examples" / "expressions.txt").read_text().splitlines()
    for number, line in enumerate(l for l in lines if l.startswith("nngraph ")):
        folder = GALLERY / "expressions" / f"{number:02d}"
        nngraph("-o", str(folder), "--no-frames", *shlex.split(line)[1:])
        keep_one_picture(folder, f"{number:02d}")


def networks() -> None:
    for spec in sorted((ROOT / "examples" / "nets").glob("*.toml")):
        folder = GALLERY / "nets" / spec.stem
        nngraph("-o", str(folder), "--no-frames", str(spec))
        keep_one_picture(folder, spec.stem)


PROGRAMS_START = "<!-- programs: examples/gallery.py writes this table -->"
PROGRAMS_END = "<!-- end of programs -->"


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
    folder = GALLERY / "programs"
    shutil.rmtree(folder, ignore_errors=True)
    rows = ["| program (`examples/programs/`) | command | |", "|---|---|---|"]
    for path in sorted((ROOT / "examples" / "programs").glob("*.nn")):
        command = program_command(path)
        out = folder / path.stem
        nngraph("-o", str(out), "--no-frames", str(path), *command[2:])
        keep_one_picture(out, path.stem)
        rows.append(f"| {program_title(path)} | `{' '.join(command)}` | "
                    f"[picture](outputs/gallery/programs/{path.stem}.svg) |")
    write_readme_table(rows)


def write_readme_table(rows: list[str]) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(PROGRAMS_START) + ".*?" + re.escape(PROGRAMS_END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"README.md: no {PROGRAMS_START} … {PROGRAMS_END} lines to write the table between")
    table = "\n".join([PROGRAMS_START, *rows, PROGRAMS_END])
    readme.write_text(pattern.sub(lambda _: table, text), encoding="utf-8")


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
