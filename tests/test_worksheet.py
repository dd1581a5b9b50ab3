"""--worksheet: numbered blank boxes where the chosen numbers go, a key, and the answers as text."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from graphviz_nn import trace

FLAGSHIP = "x**2+x*y+(x+y)**2"
NETS = Path(__file__).resolve().parent.parent / "examples" / "nets"


def texts(svg: str) -> list[str]:
    return [t.replace("&#160;", " ").strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_a_gradient_worksheet_hides_the_gradients_and_the_key_shows_them(nngraph, tmp_path):
    out = tmp_path / "o"
    status, _, _ = nngraph(FLAGSHIP, "--at", "x=1,y=2", "--worksheet", "--no-frames", "-o", out)
    assert status == 0
    sheet, key = texts((out / "worksheet.svg").read_text()), texts((out / "key.svg").read_text())
    assert "(13)" in sheet and "(13)" in key and "(14)" not in sheet            # 13 gradients to find
    assert "10" not in sheet and "7" not in sheet                              # ∂f/∂x, ∂f/∂y
    assert "10" in key and "7" in key and "12" in sheet                        # values stay
    for pdf in ("worksheet.pdf", "key.pdf"):
        assert (out / pdf).read_bytes().startswith(b"%PDF")
    answers = (out / "answers.txt").read_text().splitlines()
    assert len(answers) == 13 and answers[0] == "(1) ∂f/∂f along f → the output: 1"
    assert "(13) ∂f/∂x, all paths added: 10" in answers
    assert "(12) ∂f/∂y, all paths added: 7" in answers


def test_the_answers_are_the_runs_numbers(nngraph, tmp_path):
    nngraph(FLAGSHIP, "--at", "x=1,y=2", "--worksheet", "--no-frames", "-o", tmp_path / "o")
    graph = trace(FLAGSHIP, x=1, y=2).graph
    for line in (tmp_path / "o" / "answers.txt").read_text().splitlines():
        found = re.match(r"\(\d+\) ∂f/∂(\w) along (\w) → (\w+): (\S+)$", line)
        if found and found[3] != "the":
            u, v = found[2], found[3]
            edge = next(e for e in graph.in_edges(v) if e[0] == u)
            assert float(found[4]) == pytest.approx(float(graph.edge(*edge)["grad"])), line


def test_a_values_worksheet_keeps_the_inputs_and_blanks_what_is_computed(nngraph, tmp_path):
    status, _, _ = nngraph(FLAGSHIP, "--at", "x=1,y=2", "--worksheet", "values", "--no-frames",
                           "-o", tmp_path / "o")
    sheet = texts((tmp_path / "o" / "worksheet.svg").read_text())
    answers = (tmp_path / "o" / "answers.txt").read_text().splitlines()
    assert status == 0 and len(answers) == 6 and all("value along" in a for a in answers)   # out of each gate
    assert "12" not in sheet and "9" not in sheet and sheet.count("1") >= 1


def test_a_training_worksheet_has_no_box_for_the_target_and_does_not_show_the_update(nngraph, tmp_path):
    status, _, _ = nngraph(NETS / "25_relu_regression.toml", "--worksheet", "all", "--no-frames",
                           "-o", tmp_path / "o")
    sheet = (tmp_path / "o" / "worksheet.svg").read_text()
    assert status == 0 and "after the update" not in sheet
    assert "after the update" in (tmp_path / "o" / "key.svg").read_text()
    assert not any("y →" in a for a in (tmp_path / "o" / "answers.txt").read_text().splitlines()
                   if "∂L/∂y" in a)
