"""Which training steps are drawn: `--draw "1-3,last"`, `"every 10"`, `"all"` — parsed, never run."""
from __future__ import annotations

import re

from ..errors import UserError

DEFAULT_DRAW = "1-3,last"       # a long run: its start and its end; a short one: every step
MAX_TEXT = 200
ITEM = re.compile(r"^(?:(?P<all>all)|(?P<first>first)|(?P<last>last)|every\s*:?\s*(?P<every>\d+)"
                  r"|(?P<start>\d+)(?:\s*-\s*(?P<end>\d+))?)$")
HINT = 'for example --draw "1-3,last", --draw "every 10", --draw all'


def drawn_steps(text: str, count: int) -> frozenset[int]:
    """The 1-based steps of a run of `count` steps that `text` picks (steps past the end: none)."""
    if len(text) > MAX_TEXT:
        raise UserError(f"--draw: {len(text):,} characters; at most {MAX_TEXT}", hint=HINT)
    picked: set[int] = set()
    for item in (part.strip().lower() for part in text.split(",")):
        match = ITEM.match(item)
        if not match:
            raise UserError(f"--draw: cannot read {item[:40]!r}", hint=HINT)
        picked |= steps_of(match, count)
    if not picked:
        raise UserError(f"--draw {text[:40]!r} picks none of the {count:,} steps", hint=HINT)
    return frozenset(picked)


def steps_of(match: re.Match, count: int) -> set[int]:
    if match["all"]:
        return set(range(1, count + 1))
    if match["first"]:
        return {1}
    if match["last"]:
        return {count}
    if match["every"]:
        every = int(match["every"])
        if every < 1:
            raise UserError("--draw: every 0 picks nothing", hint=HINT)
        return set(range(every, count + 1, every))
    start = int(match["start"])
    end = int(match["end"] or start)
    if start < 1 or end < start:
        raise UserError(f"--draw: {start}-{end} is not a range of steps (they count from 1)", hint=HINT)
    return set(range(start, min(end, count) + 1))
