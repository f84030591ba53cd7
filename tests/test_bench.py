"""`l2 bench`: the table, the JSON figures, the plot, and its errors."""

import json
import math
import subprocess
import sys

import pytest

from l2.commands.bench import Metric
from l2.commands.cli import main
from l2.designs.optimistic.bench import SWEEP_PREFIX, SWEEP_QUICK
from l2.l1.compiler import PROJECT_ROOT


def test_bench_writes_the_foundation_metrics(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["bench", "--quick", "--only", "l1.", "--only", "build.", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    # the machine's commit rate always comes along: durable speeds are read beside it
    assert set(figures) == {"l1.eth_transfer_tx_per_s", "l1.eth_transfer_gas", "build.compile_s_cold",
                            "machine.sqlite_commits_per_s"}
    assert figures["l1.eth_transfer_gas"] == 21_000
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


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory):
    """The real command, once: every quick benchmark, the JSON and the plot."""
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, "-m", "l2", "bench", "--quick", "--json", str(out / "bench.json"), "--plot",
         str(out / "gas.png")], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600,
    )
    return result, out


def test_quick_bench_measures_every_figure(quick_bench):
    result, out = quick_bench
    assert result.returncode == 0, result.stderr
    figures = json.loads((out / "bench.json").read_text())
    assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in figures.values())
    for name in ("channels.updates_per_s_memory", "channels.gas.lifecycle_cooperative",
                 "optimistic.fraud_proof_gas_max", "optimistic.gas.batch_queue_progress",
                 "optimistic.gas_per_transfer_batch256", "optimistic.operator_tx_per_s", "l1.eth_transfer_gas",
                 "machine.sqlite_commits_per_s", "channels.durable_over_commit_rate",
                 "optimistic.sequencer_durable_tx_per_s", "optimistic.durable_over_commit_rate",
                 "optimistic.fraud_proof_gas.signature_max_k32"):
        assert name in figures, name
    # each durable speed is read beside the commit rate measured in its own folder, just before and after it
    for durable, design in (("channels.updates_per_s_durable", "channels"),
                            ("optimistic.sequencer_durable_tx_per_s", "optimistic"),
                            ("statechannels.moves_per_s_durable", "statechannels")):
        beside = figures[f"{design}.commits_per_s_beside"]
        assert beside > 0
        assert figures[f"{design}.durable_over_commit_rate"] == pytest.approx(figures[durable] / beside)
    table = result.stdout
    for column in ("metric", "measured", "target", "reference"):
        assert column in table
    assert "Raiden" in table and "Celer" in table and "anchors.md" in table


def test_gas_per_transfer_falls_with_the_batch_size(quick_bench):
    _, out = quick_bench
    figures = json.loads((out / "bench.json").read_text())
    sweep = [figures[f"{SWEEP_PREFIX}{n}"] for n in SWEEP_QUICK]
    assert sweep == sorted(sweep, reverse=True)  # bigger batches spread the fixed cost
    assert sweep[0] > figures["l1.eth_transfer_gas"] > sweep[-1]  # alone, a batch costs more than a transfer
    assert 300 < sweep[-1] < 420  # at 1,024 a transfer's 8 bytes dominate: ~320 at the calldata floor


def test_the_rollup_meets_its_targets(quick_bench):
    """Issue 12's figures, measured by the quick run (disputes at k = 32 on anvil; k = 128 in the full bench)."""
    _, out = quick_bench
    figures = json.loads((out / "bench.json").read_text())
    assert figures["optimistic.gas_per_transfer_batch256"] <= 500
    assert figures["optimistic.gas_per_transfer_batch1024"] <= 420
    assert figures["optimistic.calldata.bytes_per_transfer"] <= 9
    # each sequencer fault proven in one transaction (k = 8 in the scenarios: py-evm's pairings are pure Python)
    assert 50_000 < figures["optimistic.fraud_proof_gas_max"] < 2_000_000
    # k = 32: a quarter of the work of k = 128, whose target is 10 M; both replay every transfer for real
    for kind in ("transition", "signature"):
        assert 1_000_000 < figures[f"optimistic.fraud_proof_gas.{kind}_max_k32"] < 3_500_000


def test_plot_is_a_png_drawn_from_the_run(quick_bench):
    result, out = quick_bench
    png = (out / "gas.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 744)
    assert f"drew {out / 'gas.png'}" in result.stdout
    assert not list(out.glob("*.tmp*"))  # written atomically: nothing left behind


def test_plot_without_matplotlib_is_refused_before_running(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails, as if not installed
    assert main(["bench", "--only", "l1.", "--plot", str(tmp_path / "gas.png")]) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: matplotlib is not installed: pip install 'l2[plot]' (make installs it)\n"
    assert "running" not in captured.out and not (tmp_path / "gas.png").exists()


@pytest.mark.parametrize("name, message", [("gas.jpg", "--plot writes a PNG"), ("no/such/dir/x/../gas.png", None)])
def test_bad_plot_paths_are_refused_before_running(tmp_path, capsys, name, message):
    blocker = tmp_path / "no"
    blocker.write_text("a file where a folder should be")
    assert main(["bench", "--only", "l1.", "--plot", str(tmp_path / name)]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: " + (message or "cannot write")) and len(captured.err.splitlines()) == 1
    assert "running" not in captured.out
