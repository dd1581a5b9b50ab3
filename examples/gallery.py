"""Renders the gallery the README shows (outputs/gallery/) with the nngraph command itself.

    python examples/gallery.py

The flagship keeps its GIF and a few frames; every other example keeps its finished picture
(for a training run: the picture of its first step).
"""
import shlex
import shutil
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


if __name__ == "__main__":
    shutil.rmtree(GALLERY, ignore_errors=True)
    flagship()
    expressions()
    networks()
