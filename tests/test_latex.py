"""frames.tex captions compile under any LaTeX engine: ASCII only, math symbols and Greek letters
as commands in balanced math mode, LaTeX's special characters escaped."""
from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, strategies as st

import graphviz_nn as nn
from graphviz_nn.render.latex import latex_escape

PROGRAMS = Path(__file__).parent.parent / "examples" / "programs"


GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon phi "
         "chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega").split()
LATEX = set(GREEK) | {"textbackslash", "textasciitilde", "partial", "cdot", "times", "to", "leftarrow",
                      "leftrightarrow", "uparrow", "downarrow", "top", "le", "ge", "approx", "pm", "div", "odot",
                      "star", "surd", "lfloor", "rfloor", "frac", "hat", "mu", "triangleleft", "triangleright",
                      "infty", "ne", "in", "sum", "dots", "mathrm", "|"}     # commands of plain LaTeX


def compiles_plainly(tex: str) -> bool:
    """ASCII, an even number of unescaped $, no bare special character, and only commands plain
    LaTeX defines."""
    unescaped = re.sub(r"\\[\\&%$#_{}]|\\textbackslash\{\}|\\textasciitilde\{\}|\\\^\{\}", "", tex)
    math_free = re.sub(r"\$[^$]*\$", "", unescaped)
    commands = set(re.findall(r"\\([a-zA-Z]+|\|)", unescaped))
    return tex.isascii() and unescaped.count("$") % 2 == 0 and not re.search(r"[&%#~^]", math_free) \
        and commands <= LATEX


def test_symbols_and_letters_become_commands():
    assert latex_escape("∂L/∂W₁ = Σₜ d⊙x") == r"$\partial$L/$\partial$W$_{1}$ = $\Sigma$$_{t}$ d$\odot$x"
    assert latex_escape("cʹ1 = φ(α·x)") == r"c$'$1 = $\phi$($\alpha$$\cdot$x)"
    assert latex_escape("Γ Α 50% a_b #1 ŷ") == r"$\Gamma$ $\mathrm{A}$ 50\% a\_b \#1 $\hat y$"


@given(st.text(max_size=40) | st.text(st.characters(min_codepoint=0x370, max_codepoint=0x3ff), max_size=20))
def test_any_text_comes_out_ascii_with_balanced_math(text):
    assert compiles_plainly(latex_escape(text))


def test_every_programs_captions_escape_plainly():
    for name in sorted(PROGRAMS.glob("*.nn")):
        for statements in (False, True):
            for caption in nn.trace(name.read_text(encoding="utf-8"), statements=statements).captions:
                assert compiles_plainly(latex_escape(caption)), (name.name, caption)
