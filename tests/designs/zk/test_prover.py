"""The prover process starts on first use (a deployment reads the verifying key from the build's cache), and
a build's dev keys are set up once even when several provers start at once on a build without keys."""

from __future__ import annotations

import shutil
import subprocess
import threading

from l2.designs.zk import circuit
from l2.designs.zk.batch import Shape

from .test_ceremony_key import ROOT, TINY


def test_the_verifying_key_comes_from_the_cache_without_starting_a_prover(zk):
    assert zk.prover.started  # the session's deployment proved its registrations
    fresh = circuit.Prover(zk.prover.build)
    try:
        assert fresh.verifying_key() == zk.prover.verifying_key()
        assert not fresh.started and fresh.load_s is None
    finally:
        fresh.close()


def test_provers_starting_at_once_on_a_build_without_keys_share_one_setup(tmp_path):
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
        finally:
            for prover in provers:
                prover.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
