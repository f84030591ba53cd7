"""The prover takes keys from a ceremony in snarkjs's format (`--zkey`), not only its own dev-only setup: on a
tiny circuit (a ceremony for the batch circuit's 2^18 constraints takes snarkjs over an hour), a two-party
snarkjs ceremony's .zkey is imported, and its proofs verify under the ceremony's verification key."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from l2.designs.zk import circuit
from l2.designs.zk.batch import Shape

ROOT = Path(__file__).resolve().parents[3]
SNARKJS = ROOT / "node_modules" / "snarkjs" / "build" / "cli.cjs"
TINY = """pragma circom 2.1.0;
template Mul() { signal input a; signal input b; signal output c; c <== a * b; }
component main = Mul();
"""


def _snarkjs(*args, cwd):
    subprocess.run(["node", str(SNARKJS), *args], cwd=cwd, check=True, capture_output=True, timeout=300)


def test_a_snarkjs_ceremony_key_is_imported_and_its_proofs_verify(tmp_path):
    folder = ROOT / "build" / "zk" / f"ceremony-test-{tmp_path.name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        (folder / "main.circom").write_text(TINY)
        subprocess.run(["node", str(circuit.CIRCOM), str((folder / "main.circom").relative_to(ROOT)), "--r1cs",
                        "--wasm", "--O2", "-o", str(folder.relative_to(ROOT))], cwd=ROOT, check=True,
                       capture_output=True, timeout=300)
        _snarkjs("powersoftau", "new", "bn128", "4", "pot0.ptau", cwd=folder)
        _snarkjs("powersoftau", "contribute", "pot0.ptau", "pot1.ptau", "--name=first", "-e=one", cwd=folder)
        _snarkjs("powersoftau", "prepare", "phase2", "pot1.ptau", "final.ptau", cwd=folder)
        _snarkjs("groth16", "setup", "main.r1cs", "final.ptau", "c0.zkey", cwd=folder)
        _snarkjs("zkey", "contribute", "c0.zkey", "c1.zkey", "--name=second", "-e=two", cwd=folder)
        _snarkjs("zkey", "export", "verificationkey", "c1.zkey", "vk.json", cwd=folder)
        build = circuit.CircuitBuild(Shape(0, 0, 1), folder)
        prover = circuit.Prover(build, zkey=folder / "c1.zkey")
        try:
            assert prover.origin == "ceremony"
            ceremony_vk = json.loads((folder / "vk.json").read_text())
            ours = prover.verifying_key()
            for key in ("vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC"):
                assert [[str(x) for x in p] if isinstance(p, list) else str(p) for p in ours[key]] == \
                    [[str(x) for x in p] if isinstance(p, list) else str(p) for p in ceremony_vk[key]], key
            proof = prover.prove({"a": 3, "b": 11}, workdir=folder / "witness")
            assert prover.verify(proof, [33]) and not prover.verify(proof, [34])
        finally:
            prover.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
