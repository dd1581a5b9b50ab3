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
GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega").split()
GREEK_CAPITALS = {"gamma", "delta", "theta", "lambda", "xi", "pi", "sigma", "upsilon", "phi", "psi", "omega"}


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
    """α → \\alpha, Φ → \\Phi; the letters LaTeX writes as Latin ones (ο, Α, Β, …) as those; other
    Greek (archaic letters, final sigma) is not a letter LaTeX knows: None."""
    name = unicodedata.name(ch, "").lower().replace("lamda", "lambda")
    for prefix, capital in (("greek small letter ", False), ("greek capital letter ", True)):
        letter = name.removeprefix(prefix)
        if letter == name or letter not in GREEK:
            continue
        if not capital:
            return "o" if letter == "omicron" else "\\" + letter
        return "\\" + letter.capitalize() if letter in GREEK_CAPITALS else r"\mathrm{" + latin_capital(letter) + "}"
    return None


def latin_capital(letter: str) -> str:
    """The Latin capital a Greek capital looks like: Α A, Β B, Η H, Ρ P, Χ X, …"""
    return {"eta": "H", "rho": "P", "chi": "X"}.get(letter, letter[0].upper())


def script(ch: str) -> str | None:
    """₁ → _{1}, ⱼ → _{j}, ² → ^{2}, ᵗ → ^{t}: by Unicode's compatibility decomposition."""
    kind = unicodedata.decomposition(ch).split(" ")[0]
    if kind not in ("<sub>", "<super>"):
        return None
    base = unicodedata.normalize("NFKD", ch).replace("−", "-")
    if not base.isascii():
        return None
    return ("_" if kind == "<sub>" else "^") + "{" + base + "}"
