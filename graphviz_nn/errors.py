"""The errors a user can cause, each with its exit status and a one-line message."""
from __future__ import annotations

BAD_INPUT, GRAPHVIZ_FAILED = 2, 3


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
        return [terminal_safe(line) for line in lines]


class GraphvizError(UserError):
    """Graphviz is missing or failed: exit status 3."""
    status = GRAPHVIZ_FAILED


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
    """One line a terminal shows as typed: control characters (escape sequences, newlines, NUL)
    from the user's input become �, one column each, so a caret still points at its spot."""
    return text if text.isprintable() else "".join(
        ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text)
