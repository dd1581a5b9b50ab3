"""Output folders with long names: temporary names built on them stay under 255 bytes."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["a" * 250, "é" * 127])
def test_a_long_folder_name_is_written_and_replaced(nngraph, tmp_path, name):
    target = tmp_path / name
    for force in ([], ["--force"]):
        status, out, _ = nngraph("x*y", "--at", "x=1,y=2", "--no-gif", "-o", target, *force)
        assert status == 0 and "wrote " in out
    assert (target / "graph.svg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]          # nothing left beside it
