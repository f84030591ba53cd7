"""The Solidity twins of the Python rules: generated Poseidon contracts (up to date, same outputs), the float
decoding, and Groth16Verifier against groth16py's own verifier, its generated Solidity, and snarkjs."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from l2.designs.zk import l1, solidity
from l2.designs.zk.batch import build
from l2.designs.zk.poseidon import FULL_ROUNDS, PARTIAL_ROUNDS, P, parameters, poseidon
from l2.designs.zk.state import State, float_decode, float_encode
from l2.errors import TransactionReverted
from l2.l1.compiler import compile_project

from .conftest import SHAPE

ROOT = Path(__file__).resolve().parents[3]


def test_the_committed_poseidon_contracts_are_what_the_generator_writes():
    assert solidity.TARGET.read_text() == solidity.render(), "run `python -m l2.designs.zk.solidity`"


def test_poseidon_on_layer_1_equals_python(zk):
    """The Yul (moved round constants, unreduced sums between rounds) against the reference, inputs >= F too."""
    p3 = zk.chain.contract("PoseidonT4", zk.rollup.fn.poseidon3().call())
    p4 = zk.chain.contract("PoseidonT5", zk.rollup.fn.poseidon4().call())
    rng = random.Random(4)
    for xs in ([0, 0, 0], [7, 8, 9], [P - 1, 2**255, 3], [2**256 - 1] * 3,
               *([rng.randrange(2**256) for _ in range(3)] for _ in range(8))):
        assert p3.functions.hash(xs).call() == poseidon(xs)
    for xs in ([0, 0, 0, 0], [1, 2, 3, 4], [P - 1, P + 5, 2**255, 7], [2**256 - 1] * 4,
               *([rng.randrange(2**256) for _ in range(4)] for _ in range(8))):
        assert p4.functions.hash(xs).call() == poseidon(xs)


def test_moving_the_partial_rounds_constants_keeps_the_permutation():
    """solidity.round_constants in a plain Python permutation: a partial round adds one constant."""
    for t in (4, 5):
        _, mds = parameters(t)
        constants = solidity.round_constants(t)
        half, rounds_p = FULL_ROUNDS // 2, PARTIAL_ROUNDS[t - 2]
        assert all(c[1:] == [0] * (t - 1) for c in constants[half:half + rounds_p])
        for xs in ([0] * (t - 1), list(range(1, t)), [P - 1] * (t - 1)):
            state = [0, *xs]
            for r, c in enumerate(constants):
                state = [(x + k) % P for x, k in zip(state, c, strict=True)]
                full = r < half or r >= half + rounds_p
                state = [pow(x, 5, P) if full or i == 0 else x for i, x in enumerate(state)]
                state = [sum(m * x for m, x in zip(row, state, strict=True)) % P for row in mds]
            assert state[0] == poseidon(xs)


def test_floats_decode_the_same_on_layer_1(zk):
    for value in (0, 1, 10**15, 10**18, 123456789 * 10**9, (2**35 - 1) * 10**31):
        encoded = float_encode(value)
        assert float_decode(encoded) == value == zk.rollup.fn.decodeFloat(encoded).call()


@pytest.fixture(scope="module")
def proof_case(zk_session):
    zk = zk_session
    state = l1.rebuild_state(zk.rollup)
    batch = build(state, [], [], fee_index=0, domain=zk.rollup.domain, shape=zk.rollup.shape)
    return batch.input_hash, zk.prover.prove(batch.inputs)


def test_our_verifier_and_groth16py_agree(zk, proof_case):
    public, proof = proof_case
    verifier = zk.chain.contract("Groth16Verifier", zk.rollup.fn.verifier().call())
    words = l1.proof_words(proof)
    assert verifier.functions.verifyProof(words, public).call() is True
    assert zk.prover.verify(proof, [public])
    for wrong in (public + 1, 0):
        assert verifier.functions.verifyProof(words, wrong).call() is False
        assert not zk.prover.verify(proof, [wrong])
    with pytest.raises(TransactionReverted, match="NotInField"):
        zk.chain.call(verifier.functions.verifyProof(words, P))


def test_groth16py_s_generated_verifier_accepts_the_same_proof(zk, proof_case, tmp_path):
    """The verifier generated from the key (groth16py's template) and ours accept and refuse alike."""
    import groth16py

    public, proof = proof_case
    vk = groth16py.VerifyingKey.from_snarkjs(json.dumps(zk.prover.verifying_key()))
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "Generated.sol").write_text(vk.to_solidity(contract_name="GeneratedVerifier"))
    artifacts = compile_project(contracts_dir=tmp_path / "contracts", build_dir=tmp_path)
    art = artifacts["GeneratedVerifier"]
    factory = zk.chain.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = zk.chain.transact(factory.constructor(), zk.chain.accounts[0])
    generated = zk.chain.w3.eth.contract(address=receipt.contractAddress, abi=art.abi)
    w = l1.proof_words(proof)
    a, b, c = w[0:2], [w[2:4], w[4:6]], w[6:8]
    assert generated.functions.verifyProof(a, b, c, [public]).call() is True
    assert generated.functions.verifyProof(a, b, c, [public + 1]).call() is False


def test_snarkjs_verifies_the_proof_with_the_same_key(zk, proof_case, tmp_path):
    public, proof = proof_case
    w = [str(x) for x in l1.proof_words(proof)]
    snark_proof = {"pi_a": [w[0], w[1], "1"], "pi_b": [[w[3], w[2]], [w[5], w[4]], ["1", "0"]],
                   "pi_c": [w[6], w[7], "1"], "protocol": "groth16", "curve": "bn128"}
    (tmp_path / "vk.json").write_text(json.dumps(zk.prover.verifying_key()))
    (tmp_path / "proof.json").write_text(json.dumps(snark_proof))
    for value, expected in ((public, 0), (public + 1, 1)):
        (tmp_path / "public.json").write_text(json.dumps([str(value)]))
        run = subprocess.run(["node", str(ROOT / "node_modules" / "snarkjs" / "build" / "cli.cjs"), "groth16",
                              "verify", "vk.json", "public.json", "proof.json"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == expected, run.stdout + run.stderr


def test_the_genesis_root_is_the_empty_tree_s_and_every_path_rebuilds_the_root(zk):
    from l2.designs.zk.state import merkle_root, zero_hashes

    assert State(SHAPE.depth).root == zero_hashes(SHAPE.depth)[-1]
    assert len(zero_hashes(SHAPE.depth)) == SHAPE.depth // 2 + 1  # 4-ary: two index bits a level
    state = zk.state()
    for index in (0, zk.index("alice"), zk.index("bob"), 2**SHAPE.depth - 1):
        siblings = state.siblings(index)
        assert len(siblings) == SHAPE.depth // 2 and all(len(level) == 3 for level in siblings)
        assert merkle_root(state.account(index).leaf(), index, siblings) == state.root == zk.rollup.root()
