"""Captions as LaTeX that any engine compiles (pdflatex included): ASCII only. LaTeX's own
characters are escaped, mathematical symbols become their math-mode commands, Greek letters
theirs (by Unicode name), sub- and superscripts become _{…} and ^{…}, accents are dropped from
their letter, and anything else becomes its nearest ASCII (NFKD) or a question mark."""
from __future__ import annotations

import unicodedata

ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}"}
MATH = {"∂": r"\partial", "·": r"\cdot", "−": "-", "×": r"\times", "→": r"\to", "←": r"\leftarrow",
        "↔": r"\leftrightarrow", "↑": r"\uparrow", "↓": r"\downarrow", "ᵀ": r"^\top", "‖": r"\|",
        "≤": r"\le", "≥": r"\ge", "≈": r"\approx", "±": r"\pm", "÷": r"\div", "⊙": r"\odot",
        "⋆": r"\star", "√": r"\surd", "′": "'", "ʹ": "'", "⌊": r"\lfloor", "⌋": r"\rfloor",
        "½": r"\frac12", "ŷ": r"\hat y", "µ": r"\mu", "Σ": r"\Sigma", "◀": r"\triangleleft",
        "▶": r"\triangleright", "∞": r"\infty", "≠": r"\ne", "∈": r"\in", "∑": r"\sum"}
TEXT = {"…": r"\dots{}", "—": "---", "–": "--", "✓": "ok", "✗": "x", "─": "-", "\u00a0": " "}
LATIN_LOOKING = {"ALPHA": "A", "BETA": "B", "EPSILON": "E", "ZETA": "Z", "ETA": "H", "IOTA": "I", "KAPPA": "K",
                 "MU": "M", "NU": "N", "OMICRON": "O", "RHO": "P", "TAU": "T", "CHI": "X"}


def latex_escape(text: str) -> str:
    return "".join(map(latex_char, text))


def latex_char(ch: str) -> str:
    if ch.isascii():
        return ESCAPES.get(ch, ch)
    if ch in TEXT:
        return TEXT[ch]
    math = MATH.get(ch) or greek(ch) or script(ch)
    if math:
        return f"${math}$"
    plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii())
    return "".join(map(latex_char, plain)) if plain else ("" if unicodedata.combining(ch) else "?")


def greek(ch: str) -> str | None:
    """α → \\alpha, Φ → \\Phi; capitals that look Latin are Latin letters (Α → A), as in LaTeX."""
    name = unicodedata.name(ch, "")
    for case, prefix in (("small", "GREEK SMALL LETTER "), ("capital", "GREEK CAPITAL LETTER ")):
        if name.startswith(prefix) and " " not in name[len(prefix):]:
            letter = name[len(prefix):].replace("LAMDA", "LAMBDA")
            if case == "small":
                if letter == "OMICRON":
                    return "o"
                return "\\" + letter.lower()
            if letter in LATIN_LOOKING:
                return r"\mathrm{" + LATIN_LOOKING[letter] + "}"
            return "\\" + letter.capitalize()
    return None


def script(ch: str) -> str | None:
    """₁ → _{1}, ⱼ → _{j}, ² → ^{2}, ᵗ → ^{t}: by Unicode's compatibility decomposition."""
    kind = unicodedata.decomposition(ch).split(" ")[0]
    if kind not in ("<sub>", "<super>"):
        return None
    base = unicodedata.normalize("NFKD", ch).replace("−", "-")
    if not base.isascii():
        return None
    return ("_" if kind == "<sub>" else "^") + "{" + base + "}"
