"""The optimistic rollup's happy path and the bridge's guarantees (ported from the previous format's test_flow.py):
deposits, transfers and withdrawals in ETH and two tokens (one without bool returns) claimed once final and only
once; fees paid to the proposer's accounts and withdrawn to Layer 1; a checker reads each block once and follows the
chain back after a reorg."""

from __future__ import annotations

import pytest

from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.wallet import Wallet
from l2.errors import TransactionReverted
from l2.runtime.service import run_round

from .conftest import MINT

ETH, TOKEN, NOBOOL = 0, 1, 2
ETHER = 10**18


def held(state, token: int) -> int:
    return sum(a.balance for i in range(1, state.capacity) if (a := state.account(i)) and a.token == token)


@pytest.fixture
def tokens(rollup_env, tmp_path):
    """NoBoolToken registered as token 2; the proposer's fee accounts for both tokens; a sequencer paying
    each token's fees to them; wallets of alice, bob, carol and the proposer."""
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    nobool = chain.deploy("NoBoolToken", sender=env.admin)
    client.register_token(env.admin, nobool.address, 1)
    for who in (*env.users, env.proposer):
        chain.transact(env.token.functions.mint(who.address, MINT), env.admin)
        chain.transact(nobool.functions.mint(who.address, MINT), env.admin)
    client.deposit_token(env.proposer, TOKEN, 10**6)
    client.deposit_token(env.proposer, NOBOOL, 1)
    receivers = {ETH: 1, TOKEN: client.account_of(env.proposer.address, TOKEN),
                 NOBOOL: client.account_of(env.proposer.address, NOBOOL)}
    sequencer = env.sequencer(tmp_path, fee_receiver=receivers)
    wallets = [Wallet(u, client, sequencer) for u in (*env.users, env.proposer)]
    yield nobool, sequencer, wallets
    sequencer.close()


def test_deposit_transfer_withdraw_claim_for_eth_and_tokens(rollup_env, tokens):
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    nobool, sequencer, (alice, bob, carol, _) = tokens
    alice.deposit(ETHER)
    bob.deposit(5 * 10**17)
    carol.deposit(10**17)
    alice.deposit(10**20, TOKEN)
    bob.deposit(10**20, NOBOOL)
    carol.deposit(10**6, TOKEN)
    carol.deposit(1, NOBOOL)
    run_round([sequencer], urgent=True)
    alice.transfer(bob.address, 10**17, fee=10**12)
    alice.transfer(carol.address, 3 * 10**19, token=TOKEN)
    bob.transfer(carol.address, 4 * 10**19, token=NOBOOL)
    bob.withdraw(2 * 10**17)
    alice.withdraw(10**19, token=TOKEN)
    carol.withdraw(10**19, token=NOBOOL)
    (posted,) = run_round([sequencer], urgent=True)
    assert "6 transfers in 3 commitments" in posted.text  # a commitment is in one token: one per token
    assert client.tip_root() == sequencer.tip.root

    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert checker.state.root == sequencer.tip.root
    claims = checker.claimables()
    assert sorted((c.recipient, c.token, c.amount) for c in claims) == sorted(
        [(bob.address, ETH, 2 * 10**17), (alice.address, TOKEN, 10**19), (carol.address, NOBOOL, 10**19)])
    with pytest.raises(TransactionReverted, match="BatchNotFinal"):
        checker.claim(env.challenger, claims[0])
    header = claims[0].batch.header
    assert client.contract.functions.isFinal(header).call() is False
    env.finalize()
    assert client.contract.functions.isFinal(header).call() is True
    before = (chain.balance(bob.address), env.token.functions.balanceOf(alice.address).call(),
              nobool.functions.balanceOf(carol.address).call())
    for claim in claims:
        checker.claim(env.challenger, claim)  # anyone may send it: the owner is paid
    assert chain.balance(bob.address) == before[0] + 2 * 10**17
    assert env.token.functions.balanceOf(alice.address).call() == before[1] + 10**19
    assert nobool.functions.balanceOf(carol.address).call() == before[2] + 10**19
    for claim in claims:
        with pytest.raises(TransactionReverted, match="AlreadyClaimed"):
            checker.claim(env.challenger, claim)
    # the bridge holds exactly the Layer-2 balances (plus the bond): nothing owed is missing, nothing extra
    state = checker.state
    assert chain.balance(client.address) == held(state, ETH) + client.bond(env.proposer.address)
    assert env.token.functions.balanceOf(client.address).call() == held(state, TOKEN)
    assert nobool.functions.balanceOf(client.address).call() == held(state, NOBOOL)


def test_fees_are_paid_to_the_proposer_and_withdrawn_to_layer_1(rollup_env, tokens):
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    nobool, sequencer, (alice, bob, _, proposer) = tokens
    alice.deposit(ETHER)
    bob.deposit(ETHER)
    bob.deposit(10**20, TOKEN)
    run_round([sequencer], urgent=True)
    start = (proposer.balance(ETH), proposer.balance(TOKEN))
    alice.transfer(bob.address, 10**17, fee=2 * 10**12)
    alice.withdraw(10**17, fee=3 * 10**12)
    bob.transfer(proposer.address, 10**19, fee=15 * 10**5, token=TOKEN)
    run_round([sequencer], urgent=True)
    assert (proposer.balance(ETH), proposer.balance(TOKEN)) == (start[0] + 5 * 10**12,
                                                                start[1] + 10**19 + 15 * 10**5)
    proposer.withdraw_all(ETH)  # fees and all: an amount is a 16-bit float, it leaves in pieces
    proposer.withdraw_all(TOKEN)
    run_round([sequencer], urgent=True)
    checker = env.checker()
    assert "every root and signature checks" in run_round([checker])[-1].text
    assert checker.state.account(1).balance == 0 and proposer.balance(TOKEN) == 0
    env.finalize()
    before = env.token.functions.balanceOf(env.proposer.address).call()
    for claim in checker.claimables():
        checker.claim(env.challenger, claim)
    assert env.token.functions.balanceOf(env.proposer.address).call() == before + start[1] + 10**19 + 15 * 10**5
    # nothing is locked: the bridge holds the Layer-2 balances and the bond, no fee pool aside
    state = checker.state
    assert chain.balance(client.address) == held(state, ETH) + client.bond(env.proposer.address)
    assert env.token.functions.balanceOf(client.address).call() == held(state, TOKEN)


@pytest.mark.parametrize("which", ["rollup_env", "rollup_anvil_env"])
def test_a_checker_reads_each_block_once_and_follows_the_chain_back(which, request, tmp_path, monkeypatch):
    env = request.getfixturevalue(which)
    chain = env.chain
    snapshot = chain.snapshot()
    try:
        sequencer = env.sequencer(tmp_path)
        alice, bob, carol = env.wallets(sequencer)
        alice.deposit(ETHER)
        bob.deposit(ETHER)
        run_round([sequencer], urgent=True)
        alice.transfer(bob.address, 10**17)
        run_round([sequencer], urgent=True)
        scans: list[int] = []
        real = chain.w3.eth.get_logs
        monkeypatch.setattr(chain.w3.eth, "get_logs", lambda params: scans.append(params["fromBlock"]) or real(params))
        checker = Challenger(RollupClient(chain, env.client.address), env.challenger)  # a fresh reader
        assert len(run_round([checker])) == 2 and checker.state.root == sequencer.tip.root
        assert scans == [0]  # one request for everything so far

        scans.clear()
        assert run_round([checker]) == [] and scans == []  # no new block: nothing read
        head = chain.w3.eth.block_number
        fork = chain.snapshot()
        carol.deposit(ETHER)
        bob.transfer(alice.address, 10**17)
        run_round([sequencer], urgent=True)
        scans.clear()
        assert len(run_round([checker])) == 1 and len(checker.checked) == 3
        assert scans == [head + 1]  # only the blocks after the last one read
        assert len(checker.client.queue_entries()) == 4

        # the chain goes back (a reorg; here a revert) and grows past where the checker had read
        chain.revert(fork)
        chain.mine(5)
        scans.clear()
        assert run_round([checker]) == []
        assert scans == [0]  # the block it had stopped at is gone: everything is read again
        assert len(checker.checked) == 2 and len(checker.client.queue_entries()) == 3
        assert checker.state.root == env.client.tip_root()
        sequencer.close()
    finally:
        chain.revert(snapshot)
