"""All quoting in one place: every text from input passes here before DOT, SVG or HTML."""
from __future__ import annotations

import html
import re

NOT_XML = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")   # or not one line


def escape(text) -> str:
    """Every text from input goes through here before it reaches DOT, HTML-like labels, SVG or
    HTML: markup escaped; tabs and line breaks become spaces, characters XML forbids (controls,
    lone surrogates) become �, so Graphviz's XML parser and an SVG reader accept every title."""
    text = NOT_XML.sub(lambda m: " " if m.group() in "\t\n\r" else "\ufffd", str(text))
    return html.escape(text, quote=True)
