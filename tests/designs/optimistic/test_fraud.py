"""Every way of cheating in a batch is proven by an independent checker and slashed; false challenges fail; a
reverted batch pays nothing; a window closes; bonds wait (ported from the previous format's test_fraud.py).

The faults are made by hand (the sequencer's own `fault=` covers a wrong root and a bad aggregate): each
sits in batch #1 beside an honest transfer, over an honest batch #0."""

from __future__ import annotations

import pytest

from l2.designs.optimistic.encoding import Transfer, Withdrawal
from l2.designs.optimistic.state import Account, State
from l2.errors import TransactionReverted
from l2.runtime.service import run_round

from .conftest import Forger, users_deposit

ETHER = 10**18


def l2_total(state: State, token: int = 0) -> int:
    return sum(a.balance for i in range(1, state.capacity) if (a := state.account(i)) is not None and a.token == token)


def _credit(state: State, index: int, amount: int, nonce: int = 0) -> State:
    a = state.account(index)
    return state.with_account(index, Account(a.owner, a.key_hash, a.token, a.balance + amount, a.nonce + nonce))


def _honest(env, forger: Forger) -> State:
    """Batch #0: the deposits (accounts 1 to 4) and a payment; returns the state after it."""
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    payment, state = forger.transfers(state, [Transfer(2, 3, 10**17, 10**15)])
    forger.post([deposits, payment])
    return state


def _fault(name: str, env, forger: Forger, state: State) -> list:
    """Batch #1's commitments for fault `name`, on `state`."""
    honest = Transfer(3, 4, 10**16)
    if name == "wrong_root":
        commitment, _ = forger.transfers(state, [honest], root=b"\x42" * 32)
    elif name == "forged_transfer":  # half of bob's ETH to the proposer, signed by the proposer
        commitment, _ = forger.transfers(state, [honest, Transfer(3, 1, 5 * 10**17)],
                                         signers=[env.users[1].address, env.proposer.address])
    elif name == "print_money":  # the proposer sends 1,000 ETH it does not have; alice gets it all
        _, after = forger.transfers(state, [honest])
        printed = _credit(_credit(after, 1, -after.account(1).balance, nonce=1), 2, 10**21)
        commitment, _ = forger.transfers(state, [honest, Transfer(1, 2, 10**21)], root=printed.root)
    elif name == "skip_deposit":  # carol's new deposit consumed, never credited
        env.client.deposit_eth(env.users[2], 3 * 10**17)
        commitment, _ = forger.queue(state, root=state.root)
    elif name == "wrong_withdrawal":  # the proposer withdraws its balance and is never debited
        _, after = forger.transfers(state, [honest])
        commitment, _ = forger.transfers(state, [honest, Withdrawal(1, 10**16)], root=_credit(after, 1, 0, 1).root)
    elif name == "steal_fees":  # the fee receiver credited ten times the fees
        _, after = forger.transfers(state, [Transfer(3, 4, 10**16, 10**15)])
        commitment, _ = forger.transfers(state, [Transfer(3, 4, 10**16, 10**15)], root=_credit(after, 1, 10**16).root)
    else:
        raise ValueError(name)
    return [commitment]


FAULTS = ("wrong_root", "forged_transfer", "print_money", "skip_deposit", "wrong_withdrawal", "steal_fees")


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_batch_is_proven_and_slashed(rollup_env, forger, fault):
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    state = _honest(env, forger)
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    good_root = client.tip_root()
    forger.post(_fault(fault, env, forger, state))
    assert client.batch_count() == 2

    bond = client.bond(env.proposer.address)
    challenger_before = chain.balance(env.challenger.address)
    with chain.record() as txs:
        events = run_round([checker])
    kind = "signature" if fault == "forged_transfer" else "transition"
    assert len(events) == 2 and "batch #1 is fraudulent" in events[0].text and f"the {kind} proof" in events[1].text
    reveal = txs[-1]
    assert reveal.function == f"challenge{kind.capitalize()}"
    assert reveal.gas_used < (10_000_000 if fault == "forged_transfer" else 300_000)
    assert chain.balance(env.challenger.address) == challenger_before + bond // 2 - sum(t.fee_wei for t in txs)
    assert client.bond(env.proposer.address) == 0
    assert client.contract.functions.totalBurned().call() == bond - bond // 2
    assert client.batch_count() == 1 and client.tip_root() == good_root
    assert run_round([checker]) == [] and checker.state.root == good_root  # back on the good tip
    # The bridge holds exactly the Layer-2 balances + unclaimed withdrawals + deposits still queued (those
    # of the reverted batch are queued again) + the burned half.
    unclaimed = sum(c.amount for c in checker.claimables() if c.token == 0)
    queued = sum(e.amount for e in client.queue_entries(client.queue_head()) if e.kind == 0 and e.token == 0)
    assert chain.balance(client.address) == l2_total(checker.state) + unclaimed + queued + bond - bond // 2


def test_a_false_challenge_is_rejected_and_changes_nothing(rollup_env, forger):
    env, client = rollup_env, rollup_env.client
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    payments, after = forger.transfers(state, [Transfer(2, 3, 10**17, 10**15), Withdrawal(3, 10**16)])
    batch = forger.post([deposits, payments])
    bond = client.bond(env.proposer.address)
    for position, pre in enumerate((forger.genesis, state)):
        with pytest.raises(TransactionReverted, match="TransitionCorrect"):
            client.prove(env.challenger, "transition", forger.transition_proof(batch, position, pre))
    with pytest.raises(TransactionReverted, match="SignatureCorrect"):
        client.prove(env.challenger, "signature", forger.signature_proof(batch, 1, state))
    with pytest.raises(TransactionReverted, match="WrongCommitmentKind"):
        client.prove(env.challenger, "signature", forger.signature_proof(batch, 1, state)[:2] + (
            batch.target(0), b"", b""))
    assert client.batch_count() == 1 and client.bond(env.proposer.address) == bond
    assert client.tip_root() == after.root


def test_a_claim_from_a_reverted_batch_is_rejected(rollup_env, forger):
    """The withdrawal itself is valid; the batch's root is not. A checker lists nothing to claim from a
    batch it found fraudulent, and once the proof reverted it Layer 1 pays nothing from it."""
    env, client = rollup_env, rollup_env.client
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    forger.post([deposits])
    bad, _ = forger.transfers(state, [Withdrawal(2, 10**17)], root=b"\x42" * 32)
    batch = forger.post([bad])
    spectator = env.checker()
    assert spectator.claimables() == [] and len(spectator.checked) == 1
    assert "the transition proof" in run_round([env.checker()])[-1].text
    env.finalize()
    with pytest.raises(TransactionReverted, match="UnknownBatch"):
        client.claim_withdrawal(env.users[0], batch, 0, 0)


def test_a_challenge_after_the_window_is_refused(rollup_env, forger):
    env, client = rollup_env, rollup_env.client
    users_deposit(env)
    deposits, _ = forger.queue(forger.genesis, root=b"\x42" * 32)
    batch = forger.post([deposits])
    env.finalize()
    with pytest.raises(TransactionReverted, match="BatchNotPending"):
        client.prove(env.challenger, "transition", forger.transition_proof(batch, 0, forger.genesis))
    checker = env.checker()
    for _ in range(2):  # it says so every round, and sends nothing
        with env.chain.record() as txs:
            events = run_round([checker])
        assert "batch #0 is fraudulent" in events[0].text and "challenge window closed" in events[1].text
        assert txs == [] and checker.proven == 0
    assert client.batch_count() == 1


def test_the_bond_is_locked_while_a_batch_is_pending(rollup_env, tmp_path):
    env, client = rollup_env, rollup_env.client
    sequencer = env.sequencer(tmp_path)
    alice, bob = env.wallets(sequencer)[:2]
    alice.deposit(ETHER)
    bob.deposit(ETHER)
    run_round([sequencer], urgent=True)
    with pytest.raises(TransactionReverted, match="BondLocked"):
        client.withdraw_bond(env.proposer)
    env.finalize()
    before = env.chain.balance(env.proposer.address)
    receipt = client.withdraw_bond(env.proposer)
    assert env.chain.balance(env.proposer.address) == before + 10**18 - receipt.gasUsed * receipt.effectiveGasPrice
    payment, _ = Forger(env).transfers(sequencer.tip, [Transfer(2, 3, 10**15)])
    with pytest.raises(TransactionReverted, match="NotBonded"):
        client.submit_batch(env.proposer, [payment], client.queue_head())
    sequencer.close()


def test_fraud_reverts_the_batch_and_every_later_one(rollup_env, forger):
    env, client = rollup_env, rollup_env.client
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    bad, _ = forger.transfers(state, [Transfer(2, 3, 10**17)], root=b"\x42" * 32)
    forger.post([deposits, bad])  # batch 0 is fraudulent (its last root is wrong)
    client.deposit_eth(env.users[0], 10**17)
    later, _ = forger.queue(state, root=b"\x43" * 32)
    forger.post([later])  # batch 1 builds on the bad tip
    assert client.batch_count() == 2 and client.queue_head() == 5
    with env.chain.record() as txs:
        run_round([env.checker()])
    reveal = env.chain.w3.eth.get_transaction_receipt(env.chain.w3.eth.get_block("latest")["transactions"][-1])
    (event,) = env.chain.events(reveal, client.contract, "BatchesReverted")
    assert txs[-1].function == "challengeTransition" and (event.fromIndex, event.previousCount) == (0, 2)
    assert client.batch_count() == 0 and client.tip_root() == forger.genesis.root
    assert client.queue_head() == 0  # rewound: those deposits must be included again
