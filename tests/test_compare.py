"""`l2 compare` as a command: one table row per registered design, JSON and a chart, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from l2.commands.compare import make_workload
from l2.designs import DESIGNS
from l2.l1.compiler import PROJECT_ROOT


def _compare(*args: str):
    return subprocess.run([sys.executable, "-m", "l2", "compare", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=600)


def test_compare_prints_a_row_per_design_and_writes_json_and_a_chart(tmp_path):
    out, png = tmp_path / "compare.json", tmp_path / "compare.png"
    # 8 payments: the zk-rollup proves them in one batch (4 proofs in all: two for the 4 registrations, one for
    # the payments, one for the withdrawals), where each further 8 payments would cost a proof of ~8 CPU-seconds.
    result = _compare("--payments", "8", "--seed", "2", "--json", str(out), "--plot", str(png))
    assert result.returncode == 0, result.stderr
    for d in DESIGNS:
        assert d.title in result.stdout and f"{d.title}: trusts" in result.stdout
    assert result.stdout.count("to the wei") == len(DESIGNS)
    figures = json.loads(out.read_text())
    assert set(figures) == {d.name for d in DESIGNS}
    assert figures["channels"]["operate_gas"] == 0 and figures["channels"]["payment_final_s"] == 0
    assert figures["optimistic"]["operate_gas"] > 0 and figures["optimistic"]["exit_paid_s"] > 600
    assert figures["zk"]["payment_final_s"] >= 2  # a proof (a second or more) plus the block that carries it
    assert all(f["conserved"] and f["payments"] == 8 for f in figures.values())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_seed_gives_the_same_workload_and_every_payment_fits_a_channel():
    a, b = make_workload(300, 9, 10**18), make_workload(300, 9, 10**18)
    assert a == b and a != make_workload(300, 10, 10**18)
    share = {}
    for payer, payee, amount in a.payments:
        assert 10**15 <= amount <= 10**16 and len(str(amount).rstrip("0")) <= 3
        share[(payer, payee)] = share.get((payer, payee), 10**18 // 3) - amount
        share[(payee, payer)] = share.get((payee, payer), 10**18 // 3) + amount
        assert share[(payer, payee)] >= 0
    assert sum(a.net(p) for p in a.participants) == 0


def test_bad_input_is_one_line(tmp_path):
    bad = _compare("--payments", "0")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: --payments must be between 1 and 100,000, got 0"
    (tmp_path / "a-file").write_text("")
    unwritable = _compare("--json", str(tmp_path / "a-file" / "x.json"))
    assert unwritable.returncode == 1 and unwritable.stderr.startswith("error: ")
    assert len(unwritable.stderr.splitlines()) == 1
