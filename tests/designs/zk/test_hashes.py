"""Python Poseidon, BLAKE-512 and EdDSA-Poseidon against circomlibjs, run by node in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from l2.designs.zk import babyjub
from l2.designs.zk.poseidon import poseidon

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
const {buildPoseidonReference, buildEddsa} = require("circomlibjs");
const createBlakeHash = require("blake-hash");
(async () => {
  const cases = JSON.parse(process.argv[2]);
  const poseidon = await buildPoseidonReference();
  const eddsa = await buildEddsa();
  const F = eddsa.babyJub.F;
  const out = {poseidon: [], blake: [], keys: []};
  for (const xs of cases.poseidon) out.poseidon.push(poseidon.F.toString(poseidon(xs.map(BigInt))));
  for (const m of cases.blake) out.blake.push(createBlakeHash("blake512").update(Buffer.from(m, "hex")).digest("hex"));
  for (const [prv, msg] of cases.keys) {
    const key = Buffer.from(prv, "hex");
    const A = eddsa.prv2pub(key);
    const sig = eddsa.signPoseidon(key, F.e(BigInt(msg)));
    out.keys.push({A: [F.toString(A[0]), F.toString(A[1])],
                   R8: [F.toString(sig.R8[0]), F.toString(sig.R8[1])], S: sig.S.toString()});
  }
  console.log(JSON.stringify(out));
})();
"""

P = babyjub.P
CASES = {
    "poseidon": [[str(x) for x in xs]
                 for xs in ([0], [1, 2], [P - 1, 5, 7], [1, 2, 3, 4], [9, 8, 7, 6, 5], [1, 2, 3, 4, 5, 6])],
    "blake": ["", "00" * 32, "ab" * 111, "cd" * 112, "ef" * 129, "01" * 300],
    "keys": [["00" * 32, "0"], ["01" * 32, "123456789"], ["ff" * 32, str(P - 1)], ["a1b2c3", "42"]],
}


@pytest.fixture(scope="module")
def circomlibjs(tmp_path_factory) -> dict:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; circomlibjs is the reference these hashes are checked against")
    script = tmp_path_factory.mktemp("node") / "reference.js"
    script.write_text(SCRIPT)
    run = subprocess.run(["node", str(script), json.dumps(CASES)], cwd=ROOT, capture_output=True, text=True,
                         env={"NODE_PATH": str(ROOT / "node_modules"), "PATH": "/usr/bin:/bin:/usr/local/bin"},
                         check=True, timeout=120)
    return json.loads(run.stdout)


def test_poseidon_matches_circomlibjs(circomlibjs):
    assert [str(poseidon([int(x) for x in xs])) for xs in CASES["poseidon"]] == circomlibjs["poseidon"]


def test_blake512_matches_blake_hash(circomlibjs):
    assert [babyjub.blake512(bytes.fromhex(m)).hex() for m in CASES["blake"]] == circomlibjs["blake"]


def test_eddsa_poseidon_keys_and_signatures_match_circomlibjs(circomlibjs):
    for (prv, msg), ref in zip(CASES["keys"], circomlibjs["keys"], strict=True):
        key = bytes.fromhex(prv)
        pub = babyjub.public_key(key)
        sig = babyjub.sign(key, int(msg))
        assert [str(c) for c in pub] == ref["A"]
        assert [str(c) for c in sig.r8] == ref["R8"]
        assert str(sig.s) == ref["S"]
        assert babyjub.verify(pub, int(msg), sig)


def test_a_signature_does_not_verify_for_another_message_or_key():
    key = b"alice"
    sig = babyjub.sign(key, 7)
    assert not babyjub.verify(babyjub.public_key(key), 8, sig)
    assert not babyjub.verify(babyjub.public_key(b"bob"), 7, sig)
    assert not babyjub.verify(babyjub.public_key(key), 7, babyjub.Signature(sig.r8, sig.s + babyjub.SUBORDER))
    with pytest.raises(babyjub.BadSignature):
        babyjub.check(babyjub.public_key(key), 8, sig)
