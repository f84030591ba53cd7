"""Properties of the optimistic rollup over random streams (ported from the previous format's test_properties.py):
re-executing a batch from its posted bytes alone gives every committed root and every aggregate checks, and funds
are conserved (Layer-2 balances + withdrawals paid or claimable == deposits, token by token)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.core import bls
from l2.designs.optimistic import encoding
from l2.designs.optimistic.encoding import (
    QUEUE_DEPOSIT,
    QUEUE_FORCED_WITHDRAWAL,
    QueueCommitment,
    QueueEntry,
    Transfer,
    TransferCommitment,
    round_amount,
)
from l2.designs.optimistic.errors import InvalidTransaction
from l2.designs.optimistic.state import (
    State,
    apply_queue,
    apply_transfer,
    apply_transfers,
    key_hash,
    pay_fees,
    queue_outcomes,
    signature_valid,
)
from l2.runtime.service import run_round

DEPTH, K = 6, 4
KEYS = [bls.BlsKey.derive(bytes([i + 1]) * 32) for i in range(4)]
OWNERS = [bytes([i + 1]) * 20 for i in range(4)]
BY_HASH = {key_hash(k.public): k.public for k in KEYS}
DOMAIN = encoding.domain(31337, "0x" + "ab" * 20)

ops = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "transfer", "withdraw", "force"]),
        st.integers(0, 3),  # who
        st.integers(0, 3),  # to
        st.integers(0, 1),  # token
        st.integers(1, 10**18),  # amount
        st.sampled_from([0, 10**12, 15 * 10**13]),  # fee
    ),
    min_size=1,
    max_size=25,
)


class Stream:
    """Layer 1 (it assigns accounts and queues entries) and a sequencer (it applies what is valid, groups
    transfers of one token into commitments of at most K paid to that token's first account, signs them
    with each sender's BLS key for its nonce) in one, over a random stream of requests."""

    def __init__(self):
        self.state = State.genesis(DEPTH)
        self.accounts: dict[tuple[int, int], int] = {}
        self.entries: list[QueueEntry] = []
        self.commitments: list = []
        self.deposited, self.withdrawn = [0, 0], [0, 0]
        self.group: list[tuple[Transfer, bytes]] = []
        self.token = self.fee_receiver = 0
        self.open = self.state

    def queue(self, kind: int, who: int, token: int, amount: int) -> None:
        self.close()
        if kind == QUEUE_DEPOSIT:
            account = self.accounts.setdefault((who, token), len(self.accounts) + 1)
            self.deposited[token] += amount
        elif (who, token) in self.accounts:
            account = self.accounts[(who, token)]
        else:
            return  # Layer 1 queues a forced withdrawal only for its account's owner
        key = key_hash(KEYS[who].public) if kind == QUEUE_DEPOSIT else b"\0" * 32  # as Layer 1 queues them
        entry = QueueEntry(len(self.entries), kind, account, OWNERS[who], key, token, amount)
        self.entries.append(entry)
        self.state, ok = queue_outcomes(self.state, [entry])
        if kind == QUEUE_FORCED_WITHDRAWAL and ok[0]:
            self.withdrawn[token] += amount
        self.commitments.append(QueueCommitment(self.state.root, 1, ok))

    def transfer(self, who: int, to: int | None, token: int, amount: int, fee: int) -> None:
        sender = self.accounts.get((who, token))
        if sender is None:
            return
        recipient = 0 if to is None else self.accounts.get((to, token), 63)  # 63: no account there, refused
        tx = Transfer(sender, recipient, round_amount(amount), fee)
        if self.group and (self.token != token or len(self.group) == K):
            self.close()
        if not self.group:
            self.token, self.open = token, self.state
            self.fee_receiver = min(i for (_, t), i in self.accounts.items() if t == token)
        nonce = self.open.account(sender).nonce
        try:
            self.open, withdrawal = apply_transfer(self.open, tx, token)
        except InvalidTransaction:
            return
        if withdrawal is not None:
            self.withdrawn[token] += withdrawal[2]
        self.group.append((tx, KEYS[who].sign(tx.message(DOMAIN, nonce))))

    def close(self) -> None:
        if not self.group:
            return
        fees = sum(tx.fee for tx, _ in self.group)
        self.state = pay_fees(self.open, self.fee_receiver, fees)
        self.commitments.append(TransferCommitment(self.state.root, bls.aggregate([s for _, s in self.group]),
                                                   self.fee_receiver, tuple(tx for tx, _ in self.group)))
        self.group = []


def _run(stream) -> Stream:
    s = Stream()
    for kind, who, to, token, amount, fee in stream:
        if kind in ("deposit", "force"):
            s.queue(QUEUE_DEPOSIT if kind == "deposit" else QUEUE_FORCED_WITHDRAWAL, who, token, amount)
        else:
            s.transfer(who, to if kind == "transfer" else None, token, amount, fee)
    s.close()
    return s


@settings(max_examples=150, deadline=None)
@given(ops)
def test_reexecution_from_posted_data_matches_and_funds_are_conserved(stream):
    s = _run(stream)
    if not s.commitments:
        return
    replayed = State.genesis(DEPTH)
    for commitment, start in encoding.decode_batch(encoding.encode_batch(s.commitments), 0, K):  # what a checker sees
        if isinstance(commitment, QueueCommitment):
            after = apply_queue(replayed, commitment, s.entries[start:start + commitment.count])
        else:
            after, _ = apply_transfers(replayed, commitment)
            assert signature_valid(replayed, commitment, DOMAIN, BY_HASH.__getitem__)
        assert after.root == commitment.post_root
        replayed = after
    assert replayed.root == s.state.root
    for token in (0, 1):
        held = sum(a.balance for i in range(1, 1 << DEPTH) if (a := s.state.account(i)) and a.token == token)
        assert held + s.withdrawn[token] == s.deposited[token]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops)
def test_the_checker_replays_the_sequencers_roots_on_chain_and_the_bridge_holds_what_it_owes(rollup_env, stream):
    from l2.designs.optimistic.wallet import Wallet

    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    snapshot = chain.snapshot()
    try:
        chain.transact(env.token.functions.mint(env.proposer.address, 10**24), env.admin)
        client.deposit_token(env.proposer, 1, 10**6)  # the sequencer's fee account for the token
        fee_receivers = {0: 1, 1: client.account_of(env.proposer.address, 1)}
        with tempfile.TemporaryDirectory() as tmp:
            sequencer = env.sequencer(Path(tmp), fee_receiver=fee_receivers, max_batch=8)
            wallets = [Wallet(u, client, sequencer) for u in [*env.users, env.proposer]]
            for kind, who, to, token, amount, fee in stream:
                w = wallets[who]
                try:
                    if kind == "deposit":
                        w.deposit(max(amount, client.contract.functions.minDeposits(token).call()), token)
                        run_round([sequencer])  # the sequencer applies the queue before what follows
                    elif kind == "force":
                        w.force_withdrawal(amount, token)
                        run_round([sequencer])
                    elif kind == "transfer":
                        w.transfer(wallets[to].address, round_amount(amount), fee, token)
                    else:
                        w.withdraw(round_amount(amount), fee, token)
                except InvalidTransaction:
                    pass
            for _ in range(5):
                run_round([sequencer], urgent=True)
            assert sequencer.pending_count() == 0 and client.queue_head() == len(client.queue_entries())
            checker = env.checker()
            run_round([checker])
            assert checker.state.root == sequencer.tip.root == client.tip_root()
            owed = [sum(c.amount for c in checker.claimables() if c.token == t) for t in (0, 1)]
            held = [sum(a.balance for i in range(1, 1 << client.depth)
                        if (a := checker.state.account(i)) and a.token == t) for t in (0, 1)]
            assert chain.balance(client.address) == held[0] + owed[0] + client.bond(env.proposer.address)
            assert env.token.functions.balanceOf(client.address).call() == held[1] + owed[1]
            sequencer.close()
    finally:
        chain.revert(snapshot)
