"""The HTML player: one self-contained page (no network, no external files) stepping through frames.

The page holds the laid-out SVG once, and per frame only its caption: a frame's look is a CSS
block built from the same rules as the SVG frames' (frames.css_rules), so the page stays about
the size of graph.svg however many frames there are. A training run's page holds one SVG per
drawn step, with a step slider beside the frame slider.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .dot import THEMES
from .escape import escape

SCRIPT = """
const slider = document.getElementById('slider'), counter = document.getElementById('counter');
const play = document.getElementById('play'), caption = document.getElementById('caption');
const look = document.getElementById('look'), stepSlider = document.getElementById('step');
const pictures = document.querySelectorAll('.frame');
let FRAMES = STEPS[0], step = 0, current = 0, timer = null;
function css(i) {       // as frames.frame_css: parts of later frames wait, parts of frame i light up
  const later = [];
  for (let j = i + 1; j < FRAMES.count; j++) later.push(String(j));
  later.push('x');
  return FRAMES.rules.map(rule => (rule.later ? later : [String(i)])
    .flatMap(k => rule.forms.map(form => form.replace('{}', k))).join(',') + '{' + rule.css + '}').join('\\n');
}
function showStep(s) {  // a training step: its own picture and frames, from its first frame
  step = Math.max(0, Math.min(STEPS.length - 1, s));
  FRAMES = STEPS[step];
  pictures.forEach((p, k) => { p.hidden = k !== step; });
  slider.max = FRAMES.count - 1;
  if (stepSlider) { stepSlider.value = step; document.getElementById('steplabel').textContent = FRAMES.label; }
  document.body.dataset.step = step;
  show(0);
}
function show(i) {
  current = Math.max(0, Math.min(FRAMES.count - 1, i));
  look.textContent = css(current);
  caption.textContent = FRAMES.captions[current];
  slider.value = current;
  counter.textContent = (current + 1) + ' / ' + FRAMES.count;
  document.body.dataset.frame = current;
}
function toggle() {
  if (timer) { clearInterval(timer); timer = null; play.textContent = 'play'; return; }
  if (current === FRAMES.count - 1) show(0);
  play.textContent = 'pause';
  timer = setInterval(() => { if (current === FRAMES.count - 1) toggle(); else show(current + 1); }, 1100);
}
document.getElementById('prev').onclick = () => show(current - 1);
document.getElementById('next').onclick = () => show(current + 1);
play.onclick = toggle;
slider.oninput = () => show(Number(slider.value));
if (stepSlider) stepSlider.oninput = () => showStep(Number(stepSlider.value));
document.addEventListener('keydown', e => {
  if (e.key === 'ArrowRight' || e.key === 'PageDown') { show(current + 1); e.preventDefault(); }
  else if (e.key === 'ArrowLeft' || e.key === 'PageUp') { show(current - 1); e.preventDefault(); }
  else if (e.key === ' ') { toggle(); e.preventDefault(); }
  else if (e.key === 'Home') show(0);
  else if (e.key === 'End') show(FRAMES.count - 1);
  else if (e.key === 'ArrowUp') { showStep(step - 1); e.preventDefault(); }
  else if (e.key === 'ArrowDown') { showStep(step + 1); e.preventDefault(); }
});
showStep(0);
"""


@dataclass(frozen=True)
class PlayerStep:
    """What the page needs of one drawn pass: its picture without the caption bar, its frames."""
    label: str
    svg: str
    captions: list
    rules: list

    @classmethod
    def of(cls, pictures, label: str = "") -> "PlayerStep":
        return cls(label, strip_xml_header(pictures.template.graph_only()),
                   [f.caption for f in pictures.frames], pictures.rules)


def player_html(title: str, frames, theme: str = "light") -> str:
    """The page of the frames of one Pictures (its frame_svgs())."""
    return steps_player_html(title, [PlayerStep.of(frames.pictures)], theme)


def steps_player_html(title: str, steps: list[PlayerStep], theme: str = "light") -> str:
    """One page for the drawn passes of a run: a step slider picks the pass, the frame slider
    steps through it (↑ ↓ change the step, ← → the frame)."""
    t = THEMES[theme]
    state = [{"label": s.label, "count": len(s.captions), "captions": s.captions, "rules": s.rules}
             for s in steps]
    data = json.dumps(state, ensure_ascii=False).replace("<", "\\u003c")   # never closes the script
    pictures = "\n".join(f'<div class="frame"{" hidden" if k else ""}>{s.svg}</div>' for k, s in enumerate(steps))
    step_nav = "" if len(steps) < 2 else (
        f'<nav><label for="step">training step</label><input id="step" type="range" min="0" '
        f'max="{len(steps) - 1}" value="0" aria-label="training step"><span id="steplabel"></span></nav>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nngraph · {escape(title)}</title>
<style>
body {{ margin: 0; background: {t.background}; color: {t.ink};
       font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; }}
.frame svg {{ display: block; margin: 0 auto; max-width: 100vw; max-height: calc(100vh - 8em);
             height: auto; width: auto; }}
#caption {{ margin: .3em auto; max-width: 60em; padding: 0 1em; min-height: 2.6em; text-align: center; }}
nav {{ display: flex; gap: .6em; align-items: center; justify-content: center; padding: .3em; }}
button {{ font: inherit; padding: .2em .8em; }}
input[type=range] {{ width: min(50vw, 30em); }}
</style>
<style id="look"></style></head>
<body data-frame="0" data-step="0">
{pictures}
<p id="caption"></p>
<nav><button id="prev" title="previous (←)">◀</button><button id="play" title="play/pause (space)">play</button>
<button id="next" title="next (→)">▶</button>
<input id="slider" type="range" min="0" max="{len(steps[0].captions) - 1}" value="0" aria-label="frame">
<span id="counter"></span></nav>
{step_nav}
<script>
const STEPS = {data};
{SCRIPT}</script>
</body></html>
"""


def strip_xml_header(svg: str) -> str:
    """Inline SVG in HTML takes no XML declaration or DOCTYPE."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg
