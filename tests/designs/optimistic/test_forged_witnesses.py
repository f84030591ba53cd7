"""A correct transition can never be slashed, whatever witness a challenger forges.

Every kind of transition (transfer, withdraw, deposit into a new and into an existing account,
forced withdrawal that succeeds and that fails, collect fees) is posted honestly; then each field of
its fraud proof - the header, the chunk and its path, the previous chunk, the pre-state opening
(accounts root, account count, fee pool), every field of both account witnesses and the queue entry -
is forged one at a time, or replaced by the same field of a proof of another transition or batch.
`challengeTransition` must always refuse: `TransitionCorrect`, or a witness/inclusion error. The
contract checks the challenger's commitment only once fraud is established, so an eth_call that
reverts with `ChallengeNotCommitted` would mean "this forged proof slashes an honest proposer".
"""

from __future__ import annotations

import copy
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.designs.optimistic import proofs
from l2.designs.optimistic.state import State, apply
from l2.errors import TransactionReverted

# Every way a forged proof of a correct transition may be refused; anything else (above all
# ChallengeNotCommitted, i.e. "fraud established", or success) fails the test.
REFUSALS = {"TransitionCorrect", "WitnessMismatch", "NotIncluded", "UnknownBatch", "BadQueueEntry"}

KINDS = ("deposit_new", "deposit_existing", "transfer", "withdraw", "forced_ok", "forced_not_owner",
         "forced_too_much", "collect_fees")


@pytest.fixture(scope="module")
def honest(env, tmp_path_factory):
    """Two honest batches holding every kind of transition, and the correct fraud proof of each
    transition (kind -> proof), built from Layer-1 data by a verifier. Module-scoped: built once,
    on a snapshot of its own, and the chain is put back when the module ends."""
    chain = env.chain
    snapshot = chain.snapshot()
    seq = env.sequencer(tmp_path_factory.mktemp("witnesses"))
    alice, bob = env.wallets(seq)[:2]
    alice.deposit(10**18)
    bob.deposit(10**18)
    env.rollup.deposit_eth(env.proposer, 10**16)
    alice.deposit(5 * 10**17)  # into alice's existing account
    seq.sync_queue()
    seq.post_batch()
    alice.transfer(bob.address, 10**17, fee=10**12)
    bob.withdraw(10**17, fee=10**12)
    bob.force_withdrawal(2 * 10**17)  # ok: bob's account, enough balance
    env.rollup.request_forced_withdrawal(env.users[0], bob.index, 0, 10**15)  # not ok: alice asks for bob's
    alice.force_withdrawal(10**21)  # not ok: more than alice has
    seq.sync_queue()
    seq.collect_fees()
    seq.post_batch()
    verifier = env.verifier(auto_challenge=False)
    assert verifier.sync() == []
    proofs_by_kind = {}
    state = verifier.genesis
    for done in verifier.verified:
        for position, chunk in enumerate(done.chunks):
            tx = proofs.decode_chunk(chunk, verifier.entries, done.posted.header.proposer)
            proof = proofs.fraud_proof(done.posted.header, done.chunks, position, state, tx, env.rollup.domain)
            proofs_by_kind.setdefault(_kind(tx, state), []).append(proof)
            state, _ = apply(state, tx, env.rollup.domain)
    seq.close()
    assert set(proofs_by_kind) == set(KINDS), sorted(proofs_by_kind)
    flat = {kind: proofs_by_kind[kind][0] for kind in KINDS}
    yield flat
    chain.revert(snapshot)


def _kind(tx, state: State) -> str:
    from l2.designs.optimistic.txs import QUEUE_DEPOSIT, CollectFees, QueueOp, Transfer

    if isinstance(tx, Transfer):
        return "transfer"
    if isinstance(tx, CollectFees):
        return "collect_fees"
    if isinstance(tx, QueueOp):
        if tx.entry.kind == QUEUE_DEPOSIT:
            return "deposit_new" if tx.account == state.account_count else "deposit_existing"
        if tx.ok:
            return "forced_ok"
        owner = state.account(tx.account)
        return "forced_too_much" if owner is not None and owner.address == tx.entry.addr else "forced_not_owner"
    return "withdraw"


def _verdict(env, proof) -> str:
    """The revert name of `challengeTransition(proof)` as an eth_call (nothing is mined)."""
    try:
        env.chain.call(env.rollup.fn.challengeTransition(proof), env.challenger)
    except TransactionReverted as exc:
        return exc.error_name
    return "accepted"


# --- the leaves of a FraudProof and how to forge each ------------------------------------------

def _leaves(value, path=()):
    """Paths to every scalar of a nested proof tuple (lists of siblings and the fee array included)."""
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


def _set(proof, path, new):
    proof = _thaw(proof)
    node = proof
    for i in path[:-1]:
        node = node[i]
    node[path[-1]] = new
    return proof


def _thaw(value):
    return [_thaw(v) for v in value] if isinstance(value, (list, tuple)) else value


def _abi_type(path) -> str:
    """The ABI type of the proof leaf at `path` (from `proofs.FRAUD_PROOF_TYPE`)."""
    from eth_abi.grammar import parse

    node = parse(proofs.FRAUD_PROOF_TYPE)
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
        return ["0x" + "00" * 20, "0x" + rng.randbytes(20).hex()]
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


def _checksum(value):
    from eth_utils import to_checksum_address

    return to_checksum_address(value) if isinstance(value,
                                                    str) and value.startswith("0x") and len(value) == 42 else value


def test_every_honest_proof_is_refused_as_correct(env, honest):
    for kind, proof in honest.items():
        assert _verdict(env, proof) == "TransitionCorrect", kind


def test_forged_empty_leaf_cannot_slash_a_deposit_into_a_new_account(env, honest):
    """The attack that succeeded before: the new account's leaf is empty (hash 0), so a witness
    claiming address 0 with a balance used to open it; re-executing the deposit on that balance gave
    another root, and the honest batch was "proven" fraudulent."""
    proof = _thaw(honest["deposit_new"])
    proof[4][2] = [10**18, 0, 0, 0]  # first witness: address 0, forged ETH balance
    assert _verdict(env, proof) == "WitnessMismatch"
    proof = _thaw(honest["deposit_new"])
    proof[4][1] = 7  # a forged nonce on the empty leaf
    assert _verdict(env, proof) == "WitnessMismatch"
    bond = env.rollup.fn.bonds(env.proposer.address).call()
    with pytest.raises(TransactionReverted, match="WitnessMismatch"):
        env.rollup.challenge(env.challenger, proof)
    assert env.rollup.batch_count() == 2 and env.rollup.fn.bonds(env.proposer.address).call() == bond


def test_every_field_forged_one_at_a_time_never_slashes(env, honest):
    """Deterministic sweep: every leaf of every kind's proof, forged once (the first forgery of its type)."""
    rng = random.Random(7)
    seen = set()
    for kind, proof in honest.items():
        for path in _leaves(proof):
            forgeries = _forgeries(_get(proof, path), _abi_type(path), rng)
            # the smallest forgery, and for integers the type's maximum too (overflows hide there)
            for forged_value in {forgeries[0], forgeries[-1]} if _abi_type(path).startswith("uint") else forgeries[:1]:
                verdict = _verdict(env, _set(proof, path, _checksum(forged_value)))
                assert verdict in REFUSALS, (kind, path, forged_value, verdict)
                seen.add(verdict)
    assert {"TransitionCorrect", "WitnessMismatch", "NotIncluded", "UnknownBatch", "BadQueueEntry"} <= seen


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_forgeries_and_proofs_spliced_from_other_transitions_never_slash(env, honest, data):
    kind = data.draw(st.sampled_from(KINDS), label="transition")
    proof = honest[kind]
    if data.draw(st.booleans(), label="splice"):
        # a whole part (header, chunk, previous chunk, pre-state, witness, queue entry) from another
        # transition's proof: in the same batch or another batch
        other = honest[data.draw(st.sampled_from(KINDS), label="from")]
        part = data.draw(st.integers(0, 6), label="part")
        forged = _set(proof, (part,), copy.deepcopy(_thaw(other[part])))
    else:
        path = data.draw(st.sampled_from(_leaves(proof)), label="field")
        rng = random.Random(data.draw(st.integers(0, 2**32), label="seed"))
        value = data.draw(st.sampled_from(_forgeries(_get(proof, path), _abi_type(path), rng)), label="forged")
        forged = _set(proof, path, _checksum(value))
    assert _verdict(env, forged) in REFUSALS
