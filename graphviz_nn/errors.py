"""The errors a user can cause, each with its exit status and a one-line message; and the one
sanitiser every line printed from input goes through."""
from __future__ import annotations

import unicodedata

OK, NUMERIC_TROUBLE, BAD_INPUT, GRAPHVIZ_FAILED, INTERNAL_ERROR = 0, 1, 2, 3, 4
LINE_LIMIT = 240          # characters of one error or warning line; longer ones lose their middle
NAME_LIMIT = 100          # characters of a variable name (a node's label is its name)
TITLE_LIMIT = 100         # characters of a title drawn above a picture or a plot


class UserError(Exception):
    """Bad input: printed as one `error:` line (plus the source with a caret), exit status 2."""
    status = BAD_INPUT

    def __init__(self, message: str, source: str | None = None,
                 span: tuple[int, int] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message, self.source, self.span, self.hint = message, source, span, hint

    def lines(self) -> list[str]:
        lines = [f"error: {self.message}"]
        if self.source is not None and self.span is not None:
            lines += caret_lines(self.source, *self.span)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return [readable_line(line) for line in lines]


class GraphvizError(UserError):
    """Graphviz is missing or failed: exit status 3."""
    status = GRAPHVIZ_FAILED


class BudgetError(UserError):
    """An input whose cost (memory, time, size) is over a limit, refused before the work starts:
    the message says what and how much, the hint names the option that raises the limit."""

    def __init__(self, message: str, option: str, advice: str = "", source: str | None = None,
                 span: tuple[int, int] | None = None):
        super().__init__(message, source, span,
                         hint=f"raise the limit with {option} N{advice} (docs/limits.md)")
        self.option = option


def caret_lines(source: str, start: int, end: int, width: int = 76) -> list[str]:
    """The source around [start, end) with carets under it, cut to fit a terminal."""
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    line = source[line_start: line_end if line_end >= 0 else len(source)]
    col = start - line_start
    length = max(1, min(end, line_start + len(line)) - start)
    left = max(0, col - width // 2)
    shown = line[left: left + width]
    prefix = "…" if left else ""
    suffix = "…" if left + width < len(line) else ""
    pad = " " * (len(prefix) + col - left)
    return [f"  {prefix}{shown}{suffix}", f"  {pad}{'^' * min(length, width - (col - left))}"]


def terminal_safe(text: str) -> str:
    """One line a terminal shows as typed: control characters (escape sequences, newlines, NUL),
    and undecodable bytes (lone surrogates), become �, one column each, so a caret still points
    at its spot."""
    return text if text.isprintable() else "".join(
        ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text)


def terminal_lines(text: str) -> str:
    """Several lines (a table, a report), each made terminal_safe: only the line breaks stay."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def json_safe(text: str, ascii_only: bool = False) -> str:
    """A JSON document for a terminal: characters a terminal would act on (C0 and C1 controls,
    U+2028, lone surrogates) written as \\uXXXX escapes; with ascii_only, every non-ASCII one too.
    The document means the same: JSON's structure is ASCII, so such characters only occur inside
    strings, where an escape is valid."""
    if text.isascii() and all(ch >= " " or ch == "\n" for ch in text):
        return text
    return "".join(ch if (ch.isascii() or not ascii_only) and (ch.isprintable() or ch in " \n")
                   else json_escape(ch) for ch in text)


def json_escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def cut(text: str, limit: int = LINE_LIMIT) -> str:
    """text, its middle replaced by … when longer than limit (both ends usually say the most)."""
    if len(text) <= limit:
        return text
    head = (2 * limit) // 3
    return f"{text[:head]}…{text[len(text) - (limit - head - 1):]}"


def readable_line(line: str, limit: int = LINE_LIMIT) -> str:
    """One error or warning line: terminal_safe and at most `limit` characters."""
    return terminal_safe(cut(line, limit))


def display_text(text: str, limit: int) -> str:
    """Text from input that is drawn (a title): undecodable bytes and control characters become
    � or a space, and it is cut to `limit` characters, so a picture stays a readable width."""
    text = "".join(" " if ch in "\t\n\r" else ch if ch.isprintable() else "\ufffd" for ch in text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def normal_name(name: str) -> str:
    """A name as Python's parser reads it: NFKC-normalised (ｘ, 𝐱 → x; ﬁ → fi; Å → Å)."""
    return name if name.isascii() else unicodedata.normalize("NFKC", name)
