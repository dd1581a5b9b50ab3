"""The HTML player: one self-contained page (no network, no external files) stepping through frames."""
from __future__ import annotations

from .dot import THEMES
from .escape import escape

SCRIPT = """
const frames = Array.from(document.querySelectorAll('.frame'));
const slider = document.getElementById('slider'), counter = document.getElementById('counter');
const play = document.getElementById('play');
let current = 0, timer = null;
function show(i) {
  current = Math.max(0, Math.min(frames.length - 1, i));
  frames.forEach((f, k) => f.hidden = k !== current);
  slider.value = current;
  counter.textContent = (current + 1) + ' / ' + frames.length;
  document.body.dataset.frame = current;
}
function toggle() {
  if (timer) { clearInterval(timer); timer = null; play.textContent = 'play'; return; }
  if (current === frames.length - 1) show(0);
  play.textContent = 'pause';
  timer = setInterval(() => { if (current === frames.length - 1) toggle(); else show(current + 1); }, 1100);
}
document.getElementById('prev').onclick = () => show(current - 1);
document.getElementById('next').onclick = () => show(current + 1);
play.onclick = toggle;
slider.oninput = () => show(Number(slider.value));
document.addEventListener('keydown', e => {
  if (e.key === 'ArrowRight' || e.key === 'PageDown') { show(current + 1); e.preventDefault(); }
  else if (e.key === 'ArrowLeft' || e.key === 'PageUp') { show(current - 1); e.preventDefault(); }
  else if (e.key === ' ') { toggle(); e.preventDefault(); }
  else if (e.key === 'Home') show(0);
  else if (e.key === 'End') show(frames.length - 1);
});
show(0);
"""


def player_html(title: str, frame_svgs: list[str], theme: str = "light") -> str:
    t = THEMES[theme]
    frames = "\n".join(f'<div class="frame" hidden>{strip_xml_header(svg)}</div>' for svg in frame_svgs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nngraph · {escape(title)}</title>
<style>
body {{ margin: 0; background: {t.background}; color: {t.ink};
       font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; }}
.frame svg {{ display: block; margin: 0 auto; max-width: 100vw; max-height: calc(100vh - 3.5em);
             height: auto; width: auto; }}
nav {{ display: flex; gap: .6em; align-items: center; justify-content: center; padding: .5em; }}
button {{ font: inherit; padding: .2em .8em; }}
input[type=range] {{ width: min(50vw, 30em); }}
</style></head>
<body data-frame="0">
{frames}
<nav><button id="prev" title="previous (←)">◀</button><button id="play" title="play/pause (space)">play</button>
<button id="next" title="next (→)">▶</button>
<input id="slider" type="range" min="0" max="{len(frame_svgs) - 1}" value="0" aria-label="frame">
<span id="counter"></span></nav>
<script>{SCRIPT}</script>
</body></html>
"""


def strip_xml_header(svg: str) -> str:
    """Inline SVG in HTML takes no XML declaration or DOCTYPE."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
