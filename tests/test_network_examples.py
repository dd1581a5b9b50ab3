"""examples/expressions.txt: every formula exercise is a command that runs."""
import shlex
from pathlib import Path

import pytest

from graphviz_nn.cli import main

EXPRESSIONS = Path(__file__).parent.parent / "examples" / "expressions.txt"
COMMANDS = [line for line in EXPRESSIONS.read_text().splitlines() if line.startswith("nngraph ")]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_expression_example_runs(command, capsys):
    argv = shlex.split(command)[1:]
    assert main(["--no-render"] + argv) == 0, capsys.readouterr().err
