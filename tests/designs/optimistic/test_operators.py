"""The optimistic rollup's operators on the embedded chain: a sequencer aggregating BLS signatures into
commitments, and a challenger that rebuilds everything from Layer-1 data alone and proves either kind
of fraud by itself (k = 4: py-evm's pairings are pure Python)."""

from __future__ import annotations

import pytest

from l2.core import bls
from l2.designs.optimistic import l1
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.encoding import Transfer, Withdrawal
from l2.designs.optimistic.errors import BadSignature, InsufficientBalance, WrongNonce
from l2.designs.optimistic.sequencer import Sequencer
from l2.runtime.service import run_round

ETHER = 10**18


@pytest.fixture(scope="session")
def operators_env(chain):
    admin, proposer, challenger = chain.accounts[0], chain.accounts[8], chain.accounts[9]
    users = chain.accounts[4:7]
    client = l1.deploy(chain, proposer.address, depth=6, k=4, sender=admin)
    client.deposit_bond(proposer, l1.DEV_MIN_BOND)
    keys = {}
    for who in (proposer, *users):
        keys[who.address] = bls.BlsKey.derive(bytes(who.key))
        client.register_key(who, keys[who.address])
        client.deposit_eth(who, 2 * ETHER)
    return client, proposer, challenger, users, keys


@pytest.fixture
def running(operators_env, tmp_path):
    client, proposer, challenger, users, keys = operators_env
    # the proposer deposited first: account 1
    sequencer = Sequencer(client, proposer, fee_receiver=1, db_path=tmp_path / "sequencer.db")
    checker = Challenger(client, challenger)
    run_round([sequencer, checker])  # the deposits, in a queue commitment
    return client, sequencer, checker, users, keys


def pay(sequencer, client, keys, user, sender: int, to: int, amount: int, fee: int = 10**12):
    tx = Transfer(sender, to, amount, fee)
    nonce = sequencer.nonce_of(sender)
    return sequencer.submit(tx, nonce, keys[user.address].sign(tx.message(client.domain, nonce)))


def test_transfers_are_aggregated_posted_and_checked_from_layer_1_alone(running):
    client, sequencer, checker, users, keys = running
    alice, bob, carol = users  # accounts 2, 3, 4
    for _ in range(3):  # alice three times, in one commitment: nonces n, n + 1, n + 2
        pay(sequencer, client, keys, alice, 2, 3, 10**17)
    pay(sequencer, client, keys, bob, 3, 4, 10**17)
    pay(sequencer, client, keys, carol, 4, 2, 10**17)  # a second commitment (k = 4)
    events = run_round([sequencer, checker])
    assert "2 commitments" in events[0].text
    assert "every root and signature checks" in events[-1].text
    assert client.tip_root() == sequencer.tip.root
    assert sequencer.tip.account(2).nonce == 3 and sequencer.tip.account(1).balance == 2 * ETHER + 5 * 10**12


def test_the_sequencer_refuses_what_would_make_a_bad_commitment(running):
    client, sequencer, checker, users, keys = running
    alice, bob, carol = users
    tx = Transfer(2, 3, 10**17)
    with pytest.raises(WrongNonce):
        sequencer.submit(tx, 1, keys[alice.address].sign(tx.message(client.domain, 1)))
    with pytest.raises(InsufficientBalance):
        pay(sequencer, client, keys, alice, 2, 3, 3 * ETHER)
    with pytest.raises(BadSignature):
        sequencer.submit(tx, 0, b"\x01" * 96)
    assert sequencer.pending_count() == 0
    # A signature by the wrong key is caught when its commitment closes: it and its sender's later
    # transfers are dropped, everyone else's stay, and the posted aggregate checks.
    sequencer.submit(tx, 0, keys[bob.address].sign(tx.message(client.domain, 0)))  # bob's key, alice's account
    pay(sequencer, client, keys, bob, 3, 4, 10**17)
    later = Transfer(2, 4, 10**17)
    sequencer.submit(later, 1, keys[alice.address].sign(later.message(client.domain, 1)))
    events = run_round([sequencer, checker])
    assert [reason for _, reason in sequencer.dropped] == [
        "its signature is not its sender's over its nonce", "an earlier transfer of its sender had a bad signature"]
    assert "1 transfer in 1 commitment," in events[0].text
    assert "every root and signature checks" in events[-1].text
    assert sequencer.tip.account(2).nonce == 0 and sequencer.tip.account(3).nonce == 1


@pytest.mark.parametrize("fault, kind", [("wrong_root", "transition"), ("bad_signature", "signature")])
def test_the_challenger_proves_a_cheating_sequencer_wrong_by_itself(running, fault, kind):
    client, sequencer, checker, users, keys = running
    alice = users[0]
    honest_tip = client.tip_root()
    pay(sequencer, client, keys, alice, 2, 3, 10**17)
    sequencer.fault = fault
    events = run_round([sequencer, checker])
    assert any("is fraudulent" in e.text for e in events)
    assert any(f"the {kind} proof" in e.text for e in events)
    assert client.tip_root() == honest_tip and checker.proven == 1
    assert "re-synced" in run_round([sequencer])[0].text
    pay(sequencer, client, keys, alice, 2, 3, 10**17)  # and it goes on, honest again
    events = run_round([sequencer, checker])
    assert "every root and signature checks" in events[-1].text


def test_a_withdrawal_reaches_its_owner_on_layer_1(running, time_travel):
    client, sequencer, checker, users, keys = running
    bob = users[1]
    tx = Withdrawal(3, ETHER)
    nonce = sequencer.nonce_of(3)
    sequencer.submit(tx, nonce, keys[bob.address].sign(tx.message(client.domain, nonce)))
    run_round([sequencer, checker])
    _, batch = client.batches()[-1]
    time_travel(client.challenge_window + 1)
    before = client.chain.balance(bob.address)
    client.claim_withdrawal(users[2], batch, 0, 0)
    assert client.chain.balance(bob.address) == before + ETHER
