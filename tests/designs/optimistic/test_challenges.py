"""Who gets the optimistic rollup's slashed bond (ported from the previous format's test_attacks.py's sections 6 and
7): a fraud proof copied from the mempool earns the copier nothing, a commitment and its reveal in one block slash
nobody, and a proposer cannot free its bond through a sock puppet's reverted batch while an earlier fraud of its own
waits to be proven."""

from __future__ import annotations

import dataclasses

import pytest
from eth_abi import encode as abi_encode

from l2.core import bls
from l2.core.crypto import keccak
from l2.designs.optimistic import l1
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.encoding import QueueCommitment, Transfer, Withdrawal
from l2.designs.optimistic.state import queue_outcomes
from l2.errors import TransactionReverted

from .conftest import Forger, users_deposit


def _paid(*receipts) -> int:
    return sum(r.gasUsed * r.effectiveGasPrice for r in receipts)


def _raw(chain, account, fn_call, gas: int = 3_000_000, nonce_offset: int = 0) -> bytes:
    tx = fn_call.build_transaction({"from": account.address, "gas": gas, "chainId": chain.chain_id,
                                    "nonce": chain.w3.eth.get_transaction_count(account.address) + nonce_offset,
                                    **chain.fees()})
    return account.sign_transaction(tx).raw_transaction


def _fraud(env, forger) -> tuple:
    """Deposits in batch #0, then batch #1 with a root no replay gives; (batch #1, its transition proof)."""
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    forger.post([deposits])
    bad, _ = forger.transfers(state, [Transfer(2, 3, 10**17)], root=b"\x13" * 32)
    batch = forger.post([bad])
    return batch, forger.transition_proof(batch, 0, state)


# --- a copied fraud proof earns the copier nothing ------------------------------------------------------

def test_a_fraud_proof_copied_from_the_mempool_earns_the_copier_nothing(rollup_env, forger):
    """The cheater's second address watches the mempool: it sends the honest challenger's revealed proof
    first in the same block, then commits to it and tries to reveal later. It gets nothing; the
    challenger gets half the bond; the cheater keeps none of it."""
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    f = client.contract.functions
    _, proof = _fraud(env, forger)
    copier, challenger = env.users[2], env.challenger
    bond = client.bond(env.proposer.address)
    copier_before, challenger_before = chain.balance(copier.address), chain.balance(challenger.address)

    commit = chain.transact(f.commitChallenge(f.transitionCommitmentOf(proof, challenger.address).call()), challenger)
    chain.tester.disable_auto_mine_transactions()
    try:  # one block: the copier's copy (first), the honest reveal
        copy_hash = chain.w3.eth.send_raw_transaction(_raw(chain, copier, f.challengeTransition(proof)))
        reveal_hash = chain.w3.eth.send_raw_transaction(_raw(chain, challenger, f.challengeTransition(proof)))
        chain.mine()
    finally:
        chain.tester.enable_auto_mine_transactions()
    copied = chain.w3.eth.get_transaction_receipt(copy_hash)
    reveal = chain.w3.eth.get_transaction_receipt(reveal_hash)
    assert copied.blockNumber == reveal.blockNumber and (copied.status, reveal.status) == (0, 1)
    assert copied.transactionIndex < reveal.transactionIndex
    # committing after seeing it is too late: the batch is gone
    late = chain.transact(f.commitChallenge(f.transitionCommitmentOf(proof, copier.address).call()), copier)
    with pytest.raises(TransactionReverted, match="UnknownBatch"):
        chain.transact(f.challengeTransition(proof), copier)

    (proven,) = chain.events(reveal, client.contract, "FraudProven")
    assert (proven.challenger, proven.reward, proven.burned) == (challenger.address, bond // 2, bond - bond // 2)
    assert chain.balance(challenger.address) == challenger_before + bond // 2 - _paid(commit, reveal)
    assert chain.balance(copier.address) == copier_before - _paid(copied, late)
    assert client.bond(env.proposer.address) == 0
    assert f.totalBurned().call() == bond - bond // 2


def test_a_copy_without_its_own_commitment_and_a_reveal_in_the_commitments_block_are_refused(rollup_env, forger):
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    f = client.contract.functions
    _, proof = _fraud(env, forger)
    challenger = env.challenger
    with pytest.raises(TransactionReverted, match="ChallengeNotCommitted"):
        chain.transact(f.challengeTransition(proof), env.users[2])
    # A commitment names the proof's kind: the same proof committed as a signature proof reveals nothing.
    proof_hash = keccak(bytes.fromhex(client.contract.encode_abi("challengeTransition", args=[proof])[10:]))
    as_kind = {kind: keccak(abi_encode(["bytes32", "address", "string"], [proof_hash, challenger.address, kind]))
               for kind in ("transition", "signature")}
    assert bytes(f.transitionCommitmentOf(proof, challenger.address).call()) == as_kind["transition"]
    chain.transact(f.commitChallenge(as_kind["signature"]), challenger)
    chain.mine()
    with pytest.raises(TransactionReverted, match="ChallengeNotCommitted"):
        chain.transact(f.challengeTransition(proof), challenger)
    chain.transact(f.commitChallenge(as_kind["transition"]), challenger)
    with pytest.raises(TransactionReverted, match="ChallengeRevealTooEarly"):
        chain.call(f.challengeTransition(proof), challenger)  # an eth_call runs in the latest block
    reveal = chain.transact(f.challengeTransition(proof), challenger)  # one block later it goes through
    assert reveal.status == 1 and client.batch_count() == 1


def test_a_commitment_and_its_reveal_mined_in_one_block_slash_nobody(rollup_anvil_env, anvil_chain):
    """On anvil, with automining off: the commitment and the reveal land in the same block; the reveal fails."""
    env, chain, client = rollup_anvil_env, anvil_chain, rollup_anvil_env.client
    f = client.contract.functions
    _, proof = _fraud(env, Forger(env))
    bond = client.bond(env.proposer.address)
    chain._rpc("evm_setAutomine", [False])
    try:
        commit_hash = chain.w3.eth.send_raw_transaction(_raw(chain, env.challenger, f.commitChallenge(
            f.transitionCommitmentOf(proof, env.challenger.address).call())))
        reveal_hash = chain.w3.eth.send_raw_transaction(_raw(chain, env.challenger, f.challengeTransition(proof),
                                                             nonce_offset=1))
        chain.mine()
    finally:
        chain._rpc("evm_setAutomine", [True])
    commit = chain.w3.eth.get_transaction_receipt(commit_hash)
    reveal = chain.w3.eth.get_transaction_receipt(reveal_hash)
    assert commit.blockNumber == reveal.blockNumber and (commit.status, reveal.status) == (1, 0)
    assert client.batch_count() == 2 and client.bond(env.proposer.address) == bond


# --- a bond stays locked for a challenge window after the proposer's last batch -----------------------

@pytest.fixture(scope="module")
def slow(rollup_env):
    """An optimistic rollup whose challenge window (3,000 s) outlasts its inclusion window (600 s), so others may
    post while the sequencer's batch is still pending; the proposer and a puppet are bonded, and the
    proposer's key is registered. One account (depth 1) is all it needs."""
    env = rollup_env
    client = l1.deploy(env.chain, env.proposer.address, depth=1, k=4, challenge_window=3_000, inclusion_window=600,
                       sender=env.admin)
    for who in (env.proposer, env.users[2]):
        client.deposit_bond(who, l1.DEV_MIN_BOND)
    client.register_key(env.proposer, bls.BlsKey.derive(bytes(env.proposer.key)))
    return client


def test_a_proposer_cannot_escape_its_slash_through_a_sock_puppets_reverted_batch(rollup_env, slow):
    """The cheater posts a fraudulent batch B0 (its deposit credited twice); its puppet posts B1 once the
    sequencer has been quiet for the inclusion window; the cheater posts B2 on top; an accomplice proves
    B1, which reverts B1 and B2. The cheater's latest batch is gone, but its bond stays locked, and B0
    is slashed."""
    env, chain = rollup_env, rollup_env.chain
    cheater, puppet, accomplice = env.proposer, env.users[2], env.users[1]
    forger = Forger(env, slow)
    slow.deposit_eth(cheater, 10**17)
    (entry,) = forger.entries()
    claimed, _ = queue_outcomes(forger.genesis, [dataclasses.replace(entry, amount=2 * entry.amount)])
    forger.post([QueueCommitment(claimed.root, 1, (True,))])  # B0
    chain.advance_time(601)
    b1, _ = forger.transfers(claimed, [Withdrawal(1, 10**15)], root=b"\x13" * 32)
    b1 = forger.post([b1], proposer=puppet)
    b2, _ = forger.transfers(claimed, [Withdrawal(1, 10**15)], root=b"\x14" * 32)
    forger.post([b2], proposer=cheater)
    assert slow.batch_count() == 3
    slow.prove(accomplice, "transition", forger.transition_proof(b1, 0, claimed))
    assert slow.batch_count() == 1  # B1 and B2 reverted; B0 still pending

    bond = slow.bond(cheater.address)
    with pytest.raises(TransactionReverted, match="BondLocked"):
        slow.withdraw_bond(cheater)
    challenger_before = chain.balance(env.challenger.address)
    with chain.record() as txs:
        events = Challenger(slow, env.challenger).step()
    assert "batch #0 is fraudulent" in events[0].text and "the transition proof" in events[1].text
    assert chain.balance(env.challenger.address) == challenger_before + bond // 2 - sum(t.fee_wei for t in txs)
    assert slow.bond(cheater.address) == 0 and slow.batch_count() == 0
    chain.advance_time(slow.challenge_window + 1)
    with pytest.raises(TransactionReverted, match="NothingToWithdraw"):
        slow.withdraw_bond(cheater)
