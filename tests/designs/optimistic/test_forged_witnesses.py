"""A correct commitment can never be slashed, whatever a challenger forges (test_forged_witnesses.py,
ported to both fraud proofs).

Two honest batches hold every kind of commitment: queue commitments with deposits into new and existing
accounts and forced withdrawals that are paid and that are not, transfer commitments with payments, a
withdrawal, fees and a sender twice, each after a commitment of either kind. Then every field of their
transition and signature proofs - the header, the previous commitment, the target and its path, the
queue entries, every field of every witness, the packed senders and the keys - is forged one at a time,
or replaced by the same part of another commitment's proof. The contract checks the challenger's
commitment only once fraud is established, so an eth_call that reverts with `ChallengeNotCommitted`
would mean "this forged proof slashes an honest proposer"; every answer must be a refusal.
"""

from __future__ import annotations

import copy
import random

import pytest
from eth_abi.grammar import parse
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.optimistic.encoding import Transfer, Withdrawal
from l2.errors import TransactionReverted

from .conftest import Forger, users_deposit

REFUSALS = {
    "transition": {"TransitionCorrect", "WitnessMismatch", "WitnessMissing", "NotIncluded", "UnknownBatch",
                   "BadQueueEntry"},
    "signature": {"SignatureCorrect", "WitnessMismatch", "NotIncluded", "UnknownBatch", "SenderMissing",
                  "KeyMismatch", "WrongCommitmentKind"},
}
_HEADER = "(uint64,bytes32,bytes32,uint32,uint64,uint64,address,uint64)"
_PARTS = f"{_HEADER},(uint32,bytes32,bytes32,bytes32[]),(uint32,bytes,uint64,bytes32[])"
TYPES = {
    "transition": parse(f"({_PARTS},(uint8,uint32,address,bytes32,uint8,uint256)[],"
                        "(address,bytes32,uint8,uint256,uint32,bytes32[])[])"),
    "signature": parse(f"({_PARTS},bytes,bytes)"),
}
# (name, kind of proof, batch, position): every commitment's transition proof, every transfer
# commitment's signature proof.
COMMITMENTS = {"deposits": (0, 0), "payments": (0, 1), "after_payments": (1, 0), "forced": (1, 1),
               "after_queue": (1, 2)}
PROOFS = [(name, "transition") for name in COMMITMENTS] + [
    (name, "signature") for name in ("payments", "after_payments", "after_queue")]


@pytest.fixture(scope="module")
def honest(rollup_env):
    """Two honest batches and the correct proofs of their commitments, {(name, kind): proof}. Built once,
    on a snapshot of its own, put back when the module ends."""
    env, client = rollup_env, rollup_env.client
    chain = env.chain
    snapshot = chain.snapshot()
    forger = Forger(env)
    alice, bob, _ = env.users
    users_deposit(env)
    client.deposit_eth(alice, 5 * 10**17)  # into her existing account
    deposits, s1 = forger.queue(forger.genesis)
    payments, s2 = forger.transfers(s1, [Transfer(2, 3, 10**17, 10**15), Withdrawal(3, 10**17),
                                         Transfer(2, 4, 10**16)])  # alice twice
    b0 = forger.post([deposits, payments])
    client.request_forced_withdrawal(bob, 3, 2 * 10**17)  # paid
    client.request_forced_withdrawal(alice, 2, 10**21)  # more than she has: not paid
    after_payments, s3 = forger.transfers(s2, [Transfer(4, 2, 10**16)])
    forced, s4 = forger.queue(s3)
    assert forced.ok == (True, False)
    after_queue, _ = forger.transfers(s4, [Transfer(3, 4, 10**16, 10**15)])
    b1 = forger.post([after_payments, forced, after_queue])
    pres = {(0, 0): forger.genesis, (0, 1): s1, (1, 0): s2, (1, 1): s3, (1, 2): s4}
    batches = (b0, b1)
    out = {}
    for name, kind in PROOFS:
        index, position = COMMITMENTS[name]
        pre = pres[(index, position)]
        out[(name, kind)] = (forger.transition_proof if kind == "transition" else forger.signature_proof)(
            batches[index], position, pre)
    yield out
    chain.revert(snapshot)


def _verdict(env, kind: str, proof) -> str:
    """The revert name of the proof as an eth_call (nothing is mined)."""
    f = env.client.contract.functions
    try:
        env.chain.call((f.challengeTransition if kind == "transition" else f.challengeSignature)(proof),
                       env.challenger)
    except TransactionReverted as exc:
        return exc.error_name
    return "accepted"


# --- the leaves of a proof and how to forge each ---------------------------------------------------

def _leaves(value, path=()):
    """Paths to every scalar of a nested proof tuple (siblings and paths included)."""
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            out += _leaves(item, path + (i,))
        return out
    return [path]


def _get(proof, path):
    for i in path:
        proof = proof[i]
    return proof


def _thaw(value):
    return [_thaw(v) for v in value] if isinstance(value, (list, tuple)) else value


def _set(proof, path, new):
    proof = _thaw(proof)
    node = proof
    for i in path[:-1]:
        node = node[i]
    node[path[-1]] = new
    return proof


def _abi_type(kind: str, path) -> str:
    node = TYPES[kind]
    for i in path:
        node = node.item_type if node.arrlist else node.components[i]
    return node.to_type_str()


def _forgeries(value, abi_type: str, rng: random.Random) -> list:
    """A few forged values of `abi_type`, all different from `value` and all encodable."""
    if abi_type.startswith("uint"):
        top = 2 ** int(abi_type[4:]) - 1
        out = {min(value + 1, top), max(value - 1, 0), 0, rng.randrange(0, top), top}
        out.discard(value)
        return sorted(out)
    if abi_type == "address":
        return [to_checksum_address(a) for a in ("0x" + "00" * 20, "0x" + rng.randbytes(20).hex()) if a != value]
    if abi_type == "bytes32":
        flipped = bytearray(value)
        flipped[rng.randrange(32)] ^= 1 << rng.randrange(8)
        return [bytes(flipped)] + ([b"\0" * 32] if any(value) else [b"\x01" * 32])
    if abi_type == "bytes":
        if not value:
            return [b"\x01" * 38]
        flipped = bytearray(value)
        flipped[rng.randrange(len(value))] ^= 1 << rng.randrange(8)
        return [bytes(flipped), b"\0" * len(value), value[:-1], value + b"\0"]
    raise TypeError(f"unexpected proof leaf type {abi_type}")


def test_every_honest_proof_is_refused_as_correct(rollup_env, honest):
    for (name, kind), proof in honest.items():
        assert _verdict(rollup_env, kind, proof) == f"{kind.capitalize()}Correct", name


def test_a_forged_empty_leaf_cannot_slash_a_deposit_into_a_new_account(rollup_env, honest):
    """The new account's leaf is empty (hash 0), so a witness claiming owner 0 with a balance, a nonce or
    a key would open it if the contract trusted the hash alone; replaying the deposit on that balance
    gives another root, and the honest batch would be "proven" fraudulent."""
    env = rollup_env
    proof = honest[("deposits", "transition")]
    for field, value in ((3, 10**18), (4, 7), (1, b"\x01" * 32), (2, 1)):  # balance, nonce, key hash, token
        assert _verdict(env, "transition", _set(proof, (4, 0, field), value)) == "WitnessMismatch"
    bond = env.client.bond(env.proposer.address)
    with pytest.raises(TransactionReverted, match="WitnessMismatch"):
        env.client.prove(env.challenger, "transition", _set(proof, (4, 0, 3), 10**18))
    assert env.client.batch_count() == 2 and env.client.bond(env.proposer.address) == bond


@pytest.mark.parametrize("name, kind", PROOFS, ids=[f"{k}-{n}" for n, k in PROOFS])
def test_every_field_forged_one_at_a_time_never_slashes(rollup_env, honest, name, kind):
    """Deterministic sweep: every leaf of the proof, forged once (the first forgery of its type; for
    integers the type's maximum too, where overflows hide)."""
    rng = random.Random(7)
    proof = honest[(name, kind)]
    seen = set()
    for path in _leaves(proof):
        abi_type = _abi_type(kind, path)
        forgeries = _forgeries(_get(proof, path), abi_type, rng)
        for value in {forgeries[0], forgeries[-1]} if abi_type.startswith("uint") else forgeries[:1]:
            verdict = _verdict(rollup_env, kind, _set(proof, path, value))
            assert verdict in REFUSALS[kind], (path, value, verdict)
            seen.add(verdict)
    assert {"UnknownBatch", "NotIncluded", "WitnessMismatch"} <= seen


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_forgeries_and_proofs_spliced_from_other_commitments_never_slash(rollup_env, honest, data):
    name, kind = data.draw(st.sampled_from(PROOFS), label="proof")
    proof = honest[(name, kind)]
    if data.draw(st.booleans(), label="splice"):
        # a whole part (header, previous commitment, target, entries or witnesses, senders or keys) from
        # another commitment's proof of the same kind: in the same batch or the other one
        other = honest[data.draw(st.sampled_from([p for p in PROOFS if p[1] == kind]), label="from")]
        part = data.draw(st.integers(0, 4), label="part")
        forged = _set(proof, (part,), copy.deepcopy(_thaw(other[part])))
    else:
        path = data.draw(st.sampled_from(_leaves(proof)), label="field")
        rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
        forged = _set(proof, path, data.draw(st.sampled_from(_forgeries(_get(proof, path), _abi_type(kind, path),
                                                                         rng)), label="forged"))
    assert _verdict(rollup_env, kind, forged) in REFUSALS[kind]
