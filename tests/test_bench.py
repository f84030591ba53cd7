"""`l2 bench`: the table, the JSON figures, and its errors."""

import json

from l2.bench import Metric
from l2.cli import main


def test_bench_writes_the_foundation_metrics(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["bench", "--quick", "--only", "l1.", "--only", "build.", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures) == {"l1.eth_transfer_tx_per_s", "build.compile_s_cold"}
    assert all(isinstance(v, float) and v > 0 for v in figures.values())
    table = capsys.readouterr().out
    assert "l1.eth_transfer_tx_per_s" in table and "anchors.md" in table


def test_bench_unknown_prefix_is_a_one_line_error(capsys):
    assert main(["bench", "--only", "nosuch."]) == 1
    assert capsys.readouterr().err.strip() == "error: no benchmark matches ['nosuch.']"


def test_metric_target_direction():
    assert Metric("a.b", "gas", target=100, better="lower").meets_target(99)
    assert not Metric("a.b", "gas", target=100, better="lower").meets_target(101)
    assert Metric("a.b", "tx/s", target=100).meets_target(100)
    assert Metric("a.b", "tx/s").meets_target(1) is None


def test_bench_json_path_is_checked_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["bench", "--only", "l1.", "--json", str(blocker / "out.json")]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().startswith("error: cannot write")
    assert "running" not in captured.out  # refused before any benchmark ran
