"""The `l2` command: bench output, demo, and one-line errors."""

import json
import subprocess
import sys

from l2.bench import Metric
from l2.cli import main
from l2.compiler import PROJECT_ROOT


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


def test_demo_runs_end_to_end(chain, capsys):
    from rich.console import Console

    from l2.demo import run_demo

    run_demo(chain, Console(width=160))
    text = capsys.readouterr().out
    assert "Layer-1 contracts deployed" in text and "demo finished" in text
    for contract in ("TestToken", "ChannelRegistry", "Rollup"):
        assert contract in text
    assert "1000 signed payments" in text and "watcher answered" in text  # channels section
    assert "fraud proof accepted" in text and "claimed" in text  # rollup section


def test_demo_runs_against_anvil(anvil_chain, capsys):
    from rich.console import Console

    from l2.demo import run_demo

    run_demo(anvil_chain, Console(width=160))
    text = capsys.readouterr().out
    assert "anvil" in text and "fraud proof accepted" in text and "demo finished" in text


def test_cli_error_is_one_line_and_exit_code_1():
    from l2.anvil import free_port

    result = subprocess.run(
        [sys.executable, "-m", "l2.cli", "demo", "--rpc-url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: cannot reach a JSON-RPC node")
    assert len(result.stderr.strip().splitlines()) == 1


def test_console_has_the_project_loaded():
    script = (
        "token = chain.deploy('TestToken', 'Console', 'CON')\n"
        "chain.transact(token.functions.mint(accounts[1].address, 5), accounts[0])\n"
        "print('minted', chain.call(token.functions.balanceOf(accounts[1].address)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "l2.cli", "console"],
        input=script, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "minted 5" in result.stdout
    # Off a terminal the console echoes each statement after its prompt: the output reads as a transcript.
    assert result.stdout.startswith("l2 console on embedded py-evm chain")
    assert ">>> print('minted'" in result.stdout


def test_bench_json_path_is_checked_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["bench", "--only", "l1.", "--json", str(blocker / "out.json")]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip().startswith("error: cannot write")
    assert "running" not in captured.out  # refused before any benchmark ran
