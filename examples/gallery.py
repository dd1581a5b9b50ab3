"""Renders the small gallery the README shows (outputs/gallery/), with the same code as the CLI.

    python examples/gallery.py
"""
from pathlib import Path

import graphviz_nn
from graphviz_nn.render.export import RenderOptions

GALLERY = Path(__file__).resolve().parent.parent / "outputs" / "gallery"
KEEP_FRAMES = {"000.svg", "003.svg", "008.svg", "012.svg", "015.svg"}


def keep_a_few_frames(folder: Path) -> None:
    for frame in (folder / "frames").iterdir():
        if frame.name not in KEEP_FRAMES:
            frame.unlink()


def main() -> None:
    flagship = graphviz_nn.trace("x**2+x*y+(x+y)**2", x=1, y=2)
    flagship.render(GALLERY / "flagship", html=False, force=True)
    keep_a_few_frames(GALLERY / "flagship")
    matrix = graphviz_nn.trace("relu(X@W1)@W2", X=[[1, 2], [-1, 2]], W1=[[1, -1], [0.5, 0]], W2=[[0.5], [1]])
    matrix.render(GALLERY / "matrix", frames="none", force=True)
    neuron = graphviz_nn.trace("sigmoid(w0*x0+w1*x1+w2)", w0=2, x0=-1, w1=-3, x1=-2, w2=-3, expand=True)
    neuron.render(GALLERY / "sigmoid_expanded", frames="none", force=True)


if __name__ == "__main__":
    main()
