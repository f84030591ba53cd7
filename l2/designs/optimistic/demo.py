"""The rollup acts of `l2 demo`: keys and deposits, BLS-signed transfers aggregated into commitments and
posted in batches, a fraudulent batch proven in one transaction and slashed, withdrawals claimed after
the challenge window. The sequencer and the challenger are the real ones: the challenger rebuilds
everything from Layer-1 events and calldata and never reads the sequencer's journal."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.encoding import round_amount, round_fee
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.wallet import Wallet
from l2.errors import TransactionReverted
from l2.output import eth, gas, table
from l2.runtime.service import run_round

USERS = ("alice", "bob", "carol", "dave")
TOKEN_SHARE = 10  # one transfer in this many moves the token instead of ETH
FRAUD_TRANSFERS = 3
MAX_BATCH_ROWS = 8  # a batch table longer than this shows its first and last rows
MAX_ROUNDS = 10_000  # posting loops are bounded: a sequencer that never empties is a bug


def run(story) -> int:
    """The four rollup acts; returns the number of L2 transfers made."""
    chain = story.chain
    rollup = RollupClient(chain, story.deployment["OptimisticRollup"])
    operator, challenger_account = story.accounts["operator"], story.accounts["challenger"]
    token_id = _token_id(story, rollup)
    with tempfile.TemporaryDirectory(prefix="l2-demo-") as tmp:
        operator_l2 = Wallet(operator, rollup, None)
        _fee_accounts(story, rollup, operator_l2, token_id)
        fees = {0: rollup.account_of(operator.address, 0), token_id: rollup.account_of(operator.address, token_id)}
        seq = Sequencer(rollup, operator, fees, Path(tmp) / "sequencer.db", max_batch=story.batch_size)
        operator_l2.sequencer = seq
        try:
            challenger = Challenger(rollup, challenger_account)
            wallets = {name: Wallet(story.accounts[name], rollup, seq) for name in USERS}
            _deposits(story, rollup, seq, challenger, wallets, token_id)
            made = _transfers(story, seq, challenger, wallets, token_id)
            made += _fraud(story, rollup, seq, challenger, wallets)
            _withdrawals(story, rollup, seq, challenger, wallets, operator_l2, token_id)
        finally:
            seq.close()
    return made


def _token_id(story, rollup: RollupClient) -> int:
    """The test token's id on the rollup, registering it (as the admin, the deployer) the first time."""
    address = story.deployment["TestToken"]
    f = rollup.contract.functions
    count = f.tokenCount().call()
    for token in range(1, count):
        if f.tokens(token).call() == address:
            return token
    rollup.register_token(story.accounts["operator"], address, 10**15)
    return count


def _fee_accounts(story, rollup: RollupClient, operator: Wallet, token_id: int) -> None:
    """The operator's bond, and its fee account in each token (a commitment pays its fees in one token)."""
    minimum = rollup.contract.functions.minBond().call()
    if rollup.bond(operator.address) < minimum:
        rollup.deposit_bond(operator.account, minimum - rollup.bond(operator.address))
    operator.deposit(story.unit)
    operator.deposit(10**18, token=token_id)  # the story gives the operator a few tokens


def _post_all(seq: Sequencer, challenger: Challenger) -> list:
    """Batches until nothing waits, each replayed by the challenger: [(Posted, checks)]."""
    posted: list = []
    for _ in range(MAX_ROUNDS):
        before = seq.last_posted
        run_round([seq], urgent=True)
        if seq.last_posted is before:
            return posted
        events = run_round([challenger])
        posted.append((seq.last_posted, not any("fraudulent" in e.text for e in events)))
    raise AssertionError(f"still posting after {MAX_ROUNDS} batches")


def _deposits(story, rollup, seq, challenger, wallets, token_id: int) -> None:
    console = story.console
    story.act("Rollup: BLS keys and deposits on Layer 1, picked up by the sequencer")
    console.print(f"Rollup at {rollup.address}: commitments of up to {rollup.k} transfers, challenge window "
                  f"{rollup.challenge_window} s; the operator is the sequencer, bonded with "
                  f"{eth(rollup.bond(seq.proposer.address))}.", highlight=False)
    console.print("Each user's BLS key (derived from its Ethereum key) is registered once, with a proof of possession; "
                  "Layer 1 gives each depositor an account index in one ordered queue that every batch must "
                  "consume.", highlight=False)
    deposits = table("Keys and deposits", "account", "key", "ETH", "TST", "gas")
    for name, wallet in wallets.items():
        eth_amount = 10 * story.unit
        token_amount = 100 * 10**18
        key = wallet.register()
        used = wallet.deposit(eth_amount).gasUsed + wallet.deposit(token_amount, token=token_id).gasUsed
        deposits.add_row(name, gas(key.gasUsed) if key else "registered before", eth(eth_amount),
                         story.token_amount(token_amount), gas(used))
    console.print(deposits)
    posted = _post_all(seq, challenger)
    if not all(ok for _, ok in posted):
        raise AssertionError("the challenger rejected the honest deposit batch")
    entries = sum(p.queue_entries for p, _ in posted)
    first, last = posted[0][0].index, posted[-1][0].index
    which = f"batch #{first}" if first == last else f"batches #{first} to #{last}"
    console.print(f"{which} credit the {entries} deposits on L2 ({gas(sum(p.receipt.gasUsed for p, _ in posted))} "
                  "gas); the challenger replayed them from Layer-1 data: every root matches", highlight=False)


def _transfers(story, seq, challenger, wallets, token_id: int) -> int:
    console, rng = story.console, story.rng
    n = story.payments
    story.act(f"Rollup: {n:,} transfers on Layer 2, posted in batches of up to {story.batch_size}")
    fee = round_fee(story.unit // 10**6)
    names = list(wallets)
    start = time.perf_counter()
    with story.progress("signing and sending transfers", n) as advance:
        for _ in range(n):
            sender, receiver = rng.sample(names, 2)
            token = token_id if rng.randrange(TOKEN_SHARE) == 0 else 0
            amount = round_amount(rng.randint(1, (story.unit if token == 0 else 10**18) // 20))
            if wallets[sender].balance(token) < amount + fee:
                sender, receiver = receiver, sender
            wallets[sender].transfer(wallets[receiver], amount, token=token, fee=fee)
            advance()
    signed = time.perf_counter() - start
    console.print(f"{n:,} transfers signed (BLS, each over its sender's nonce) and accepted by the sequencer in "
                  f"{signed:.2f} s ({n / signed:,.0f} a second: BLS signing, rules, Merkle update, SQLite "
                  "journal)", highlight=False)
    with story.progress("posting batches", -(-n // story.batch_size)):
        batches = _post_all(seq, challenger)
    console.print("A transfer is 8 bytes of calldata (sender, receiver, amount, fee); a commitment adds one root "
                  "and one aggregate signature (48 bytes) for all its transfers; Layer 1 stores one hash per "
                  "batch.", highlight=False)
    rows = table("Batches", "batch", "transfers", "commitments", "Layer-1 gas", "gas per transfer", "challenger")
    shown = batches if len(batches) <= MAX_BATCH_ROWS else batches[:3] + [None] + batches[-2:]
    for row in shown:
        if row is None:
            rows.add_row("…", "", "", "", "", "")
            continue
        p, ok = row
        rows.add_row(f"#{p.index}", f"{p.transfers:,}", f"{p.commitments}", gas(p.receipt.gasUsed),
                     gas(p.receipt.gasUsed / p.transfers), "roots and signatures check" if ok else "FRAUD")
    total = sum(p.receipt.gasUsed for p, _ in batches)
    rows.add_row(f"{len(batches)} batches", f"{n:,}", f"{sum(p.commitments for p, _ in batches)}", gas(total),
                 gas(total / n), "", style="bold")
    console.print(rows)
    if not all(ok for _, ok in batches):
        raise AssertionError("the challenger found fraud in an honest batch")
    return n


def _fraud(story, rollup, seq, challenger, wallets) -> int:
    chain, console, rng = story.chain, story.console, story.rng
    story.act("Rollup: a fraudulent batch, proven in one Layer-1 transaction and slashed")
    account = challenger.account
    seq.fault = "print_money"  # for one commitment the operator credits itself money it does not have
    names = list(wallets)
    for _ in range(FRAUD_TRANSFERS):
        sender, receiver = rng.sample(names, 2)
        wallets[sender].transfer(wallets[receiver], round_amount(rng.randint(1, story.unit // 20)))
    f = rollup.contract.functions
    bond = rollup.bond(seq.proposer.address)
    burned = f.totalBurned().call()
    challenger_before = chain.balance(account.address)
    standing = rollup.batch_count()
    run_round([seq], urgent=True)
    console.print(f"the operator posts batch #{standing} with {FRAUD_TRANSFERS} honest transfers, but its root "
                  "credits the operator's own account 1 ETH more than the fees it earned", highlight=False)
    events = run_round([challenger])
    commit, proof = challenger.last_proof
    reward = chain.balance(account.address) - challenger_before + sum(
        r.gasUsed * r.effectiveGasPrice for r in (commit, proof))
    found = next(e.text for e in events if "fraudulent" in e.text)
    console.print(f"the challenger replays it from Layer-1 data: {found}", highlight=False, soft_wrap=True)
    proven = table("Fraud proven", "", "figure")
    proven.add_row("commitment to the proof (so nobody can copy it from the mempool)", f"{gas(commit.gasUsed)} gas")
    proven.add_row("fraud proof (one transaction, one commitment re-executed)", f"{gas(proof.gasUsed)} gas")
    proven.add_row("operator's bond", f"{eth(bond)} → {eth(rollup.bond(seq.proposer.address))}")
    proven.add_row("to the challenger", eth(reward))
    proven.add_row("burned (locked in the bridge for good)", eth(f.totalBurned().call() - burned))
    proven.add_row("batches standing", f"{standing + 1} → {rollup.batch_count()}")
    console.print(proven)
    events = run_round([seq], urgent=True)  # re-syncs with Layer 1, bonds again, re-posts the honest transfers
    if any("fraudulent" in e.text for e in run_round([challenger])):
        raise AssertionError("the recovered batch is not valid")
    console.print(f"the operator re-syncs with Layer 1 and bonds again: {seq.last_resync['readmitted']} honest "
                  f"transfers admitted again and posted as batch #{seq.last_posted.index} "
                  f"({gas(seq.last_posted.receipt.gasUsed)} gas); the challenger agrees", highlight=False)
    return FRAUD_TRANSFERS


def _withdrawals(story, rollup, seq, challenger, wallets, operator: Wallet, token_id: int) -> None:
    chain, console, rng = story.chain, story.console, story.rng
    story.act("Rollup: withdrawals, claimed on Layer 1 after the challenge window")
    for wallet in wallets.values():
        wallet.withdraw(round_amount(rng.randint(story.unit, 3 * story.unit)))
    wallets["bob"].withdraw(10 * 10**18, token=token_id)
    operator.withdraw_all()  # the fees it earned, from its own account, like anyone
    _post_all(seq, challenger)
    claims = [w for w in challenger.claimables() if not challenger.is_claimed(w)]
    try:
        challenger.claim(challenger.account, claims[0])
        raise AssertionError("a withdrawal was paid before its batch was final")
    except TransactionReverted as exc:
        console.print(f"claimed at once, a withdrawal is refused: {exc}", highlight=False)
    chain.advance_time(rollup.challenge_window)
    console.print(f"{rollup.challenge_window} s later no fraud proof has come: the batches are final",
                  highlight=False)
    names = {story.accounts[n].address: n for n in (*USERS, "operator")}
    paid = table("Withdrawals claimed on Layer 1", "recipient", "amount", "batch", "gas")
    for w in claims:  # anyone may send a claim; Layer 1 pays the recipient
        receipt = challenger.claim(challenger.account, w)
        paid.add_row(names.get(w.recipient, w.recipient), eth(w.amount) if w.token == 0 else
                     story.token_amount(w.amount), f"#{w.batch_index}", gas(receipt.gasUsed))
    console.print(paid)
