"""The prover process starts on first use (a deployment reads the verifying key from the build's cache), a
build's dev keys are set up once even when several provers start at once on a build without keys, and processes
that share a prover (L2_ZK_PROVER, as this test session does) load each key once between them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import pytest

from l2.designs.zk import circuit
from l2.designs.zk.batch import Shape
from l2.l1.compiler import PROJECT_ROOT

from .test_ceremony_key import ROOT, TINY


def test_the_verifying_key_comes_from_the_cache_without_starting_a_prover(zk):
    assert zk.prover.started  # the session's deployment proved its registrations
    fresh = circuit.Prover(zk.prover.build)
    try:
        assert fresh.verifying_key() == zk.prover.verifying_key()
        assert not fresh.started and fresh.load_s is None
    finally:
        fresh.close()


def test_a_process_started_by_the_session_proves_on_its_shared_prover_with_the_key_loaded(zk):
    assert os.environ.get(circuit.SHARED_ENV)  # tests/conftest.py's shared prover
    assert zk.prover._link is not None and zk.prover._link.sock is not None  # not a process of its own
    shape = zk.rollup.shape
    script = ("from l2.designs.zk import circuit\nfrom l2.designs.zk.batch import Shape\n"
              f"print(circuit.prover_for(Shape({shape.n_queue}, {shape.n_tx}, {shape.depth})).start())\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.0"  # the session already loaded this build's key: nothing to load


@pytest.mark.parametrize("shared", [True, False], ids=["shared prover", "a process each"])
def test_provers_starting_at_once_on_a_build_without_keys_share_one_setup(tmp_path, monkeypatch, shared):
    if not shared:
        monkeypatch.delenv(circuit.SHARED_ENV, raising=False)
    folder = ROOT / "build" / "zk" / f"setup-race-{tmp_path.name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        (folder / "main.circom").write_text(TINY)
        subprocess.run(["node", str(circuit.CIRCOM), str((folder / "main.circom").relative_to(ROOT)), "--r1cs",
                        "--wasm", "--O2", "-o", str(folder.relative_to(ROOT))], cwd=ROOT, check=True,
                       capture_output=True, timeout=300)
        build = circuit.CircuitBuild(Shape(0, 0, 1), folder)
        provers = [circuit.Prover(build) for _ in range(3)]
        keys: list[dict] = []
        threads = [threading.Thread(target=lambda p=p: keys.append(p.verifying_key())) for p in provers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        try:
            assert len(keys) == 3 and keys[0] == keys[1] == keys[2] == circuit.Prover(build).verifying_key()
            for prover in provers:  # each one proves under the one key on disk
                proof = prover.prove({"a": 3, "b": 11}, workdir=folder / "witness")
                assert prover.verify(proof, [33])
                assert (prover._link.sock is not None) == shared and (prover._link.proc is None) == shared
        finally:
            for prover in provers:
                prover.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
