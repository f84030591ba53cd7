"""The rollup acts of `l2 demo`: deposits, transfers in batches, a fraudulent batch proven and slashed,
withdrawals claimed after the challenge window. The sequencer and the challenger are the real ones: the
challenger rebuilds everything from Layer-1 events and calldata and never reads the sequencer's database."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.txs import round_amount
from l2.designs.optimistic.wallet import Wallet
from l2.errors import TransactionReverted
from l2.output import eth, gas, table

USERS = ("alice", "bob", "carol", "dave")
TOKEN_SHARE = 10  # one transfer in this many moves the token instead of ETH
FRAUD_TRANSFERS = 3
MAX_BATCH_ROWS = 8  # a batch table longer than this shows its first and last rows


def run(story) -> int:
    """The four rollup acts; returns the number of L2 transfers made."""
    chain = story.chain
    rollup = RollupClient(chain, story.deployment["OptimisticRollup"])
    operator, challenger_account = story.accounts["operator"], story.accounts["challenger"]
    token_id = _token_id(story, rollup)
    with tempfile.TemporaryDirectory(prefix="l2-demo-") as tmp:
        seq = Sequencer(rollup, operator, Path(tmp) / "sequencer.db", max_batch=story.batch_size)
        try:
            seq.ensure_bond()
            challenger = Challenger(rollup, challenger_account)
            wallets = {name: Wallet(story.accounts[name], rollup, seq) for name in USERS}
            _deposits(story, rollup, seq, challenger, wallets, token_id)
            made = _transfers(story, seq, challenger, wallets, token_id)
            made += _fraud(story, rollup, seq, challenger, wallets)
            _withdrawals(story, rollup, seq, challenger, wallets, token_id)
        finally:
            seq.close()
    return made


def _token_id(story, rollup: RollupClient) -> int:
    """The test token's id on the rollup, registering it (as the admin, the deployer) the first time."""
    address = story.deployment["TestToken"]
    count = rollup.fn.tokenCount().call()
    for token in range(1, count):
        if rollup.token_address(token) == address:
            return token
    rollup.register_token(story.accounts["operator"], address)
    return count


def _deposits(story, rollup, seq, challenger, wallets, token_id: int) -> None:
    console = story.console
    story.act("Rollup: deposits on Layer 1, picked up by the sequencer")
    console.print(f"Rollup at {rollup.address}: challenge window {rollup.challenge_window} s, inclusion window "
                  f"{rollup.inclusion_window} s; the operator is the sequencer, bonded with "
                  f"{eth(rollup.fn.bonds(seq.proposer.address).call())}.", highlight=False)
    console.print("Deposits are Layer-1 transactions into one ordered queue that every batch must consume.",
                  highlight=False)
    deposits = table("Deposits", "account", "ETH", "TST", "gas")
    for name, wallet in wallets.items():
        eth_amount = 10 * story.unit
        token_amount = 100 * 10**18
        used = wallet.deposit(eth_amount).gasUsed + wallet.deposit(token_amount, token=token_id).gasUsed
        deposits.add_row(name, eth(eth_amount), story.token_amount(token_amount), gas(used))
    # The operator's own L2 account: fees are collected into it (and the fraud act needs one).
    used = rollup.deposit_eth(seq.proposer, story.unit).gasUsed
    deposits.add_row("operator", eth(story.unit), "", gas(used))
    console.print(deposits)
    entries = seq.sync_queue()
    receipts = []
    while seq.pending_count():  # more than one batch when the batch size is smaller than the queue
        receipts.append(seq.post_batch())
    if challenger.sync():
        raise AssertionError("the challenger rejected the honest deposit batch")
    first = rollup.batch_count() - len(receipts)
    which = f"batch #{first}" if len(receipts) == 1 else f"batches #{first} to #{first + len(receipts) - 1}"
    console.print(f"{which} credit the {entries} deposits on L2 ({gas(sum(r.gasUsed for r in receipts))} gas); "
                  "the challenger re-executed them from Layer-1 data: state root matches", highlight=False)


def _transfers(story, seq, challenger, wallets, token_id: int) -> int:
    console, rng = story.console, story.rng
    n = story.payments
    story.act(f"Rollup: {n:,} transfers on Layer 2, posted in batches of up to {story.batch_size}")
    fee = story.unit // 10**6
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
    console.print(f"{n:,} transfers signed (EIP-712) by their senders and accepted by the sequencer in "
                  f"{signed:.2f} s ({n / signed:,.0f} a second: signature check, rules, Merkle update, "
                  f"SQLite log)", highlight=False)
    batches = []
    with story.progress("posting batches", -(-n // story.batch_size)) as advance:
        while seq.pending_count():
            receipt = seq.post_batch()
            frauds = challenger.sync()
            header = challenger.verified[-1].posted.header
            batches.append((header.index, header.tx_count, receipt.gasUsed, not frauds))
            advance()
    console.print("Each batch carries its transactions and a post-state root per transaction as calldata; Layer 1 "
                  "stores one hash of its header.", highlight=False)
    rows = table("Batches", "batch", "transfers", "Layer-1 gas", "gas per transfer", "challenger")
    shown = batches if len(batches) <= MAX_BATCH_ROWS else batches[:3] + [None] + batches[-2:]
    for row in shown:
        if row is None:
            rows.add_row("…", "", "", "", "")
            continue
        index, count, used, ok = row
        rows.add_row(f"#{index}", f"{count:,}", gas(used), gas(used / count), "root matches" if ok else "FRAUD")
    total = sum(b[2] for b in batches)
    rows.add_row(f"{len(batches)} batches", f"{n:,}", gas(total), gas(total / n), "", style="bold")
    console.print(rows)
    if not all(b[3] for b in batches):
        raise AssertionError("the challenger found fraud in an honest batch")
    return n


def _fraud(story, rollup, seq, challenger, wallets) -> int:
    chain, console, rng = story.chain, story.console, story.rng
    story.act("Rollup: a fraudulent batch, proven in one Layer-1 transaction and slashed")
    account = challenger.account
    seq.fault = "print_money"  # for one batch the operator credits itself money it does not have
    names = list(wallets)
    for _ in range(FRAUD_TRANSFERS):
        sender, receiver = rng.sample(names, 2)
        wallets[sender].transfer(wallets[receiver], round_amount(rng.randint(1, story.unit // 20)))
    bond = rollup.fn.bonds(seq.proposer.address).call()
    burned = rollup.fn.totalBurned().call()
    challenger_before = chain.balance(account.address)
    standing = rollup.batch_count()
    seq.post_batch()
    console.print(f"the operator posts batch #{standing} with {FRAUD_TRANSFERS} honest transfers and one of its "
                  f"own that spends money it does not have", highlight=False)
    (fraud,) = challenger.sync()
    reward = chain.balance(account.address) - challenger_before + sum(
        r.gasUsed * r.effectiveGasPrice for r in (fraud.commit_receipt, fraud.receipt))
    console.print(f"the challenger re-executes it from Layer-1 data and finds transition {fraud.position} invalid: "
                  f"{fraud.reason}", highlight=False, soft_wrap=True)
    proven = table("Fraud proven", "", "figure")
    proven.add_row("commitment to the proof (so nobody can copy it from the mempool)",
                   f"{gas(fraud.commit_receipt.gasUsed)} gas")
    proven.add_row("fraud proof (one transaction, one transition re-executed)", f"{gas(fraud.receipt.gasUsed)} gas")
    proven.add_row("operator's bond", f"{eth(bond)} → {eth(rollup.fn.bonds(seq.proposer.address).call())}")
    proven.add_row("to the challenger", eth(reward))
    proven.add_row("burned (locked in the bridge for good)", eth(rollup.fn.totalBurned().call() - burned))
    proven.add_row("batches standing", f"{standing + 1} → {rollup.batch_count()}")
    console.print(proven)
    seq.ensure_bond()
    receipt = seq.post_batch()  # recovers from Layer 1 first, then re-posts the honest transfers
    if challenger.sync():
        raise AssertionError("the recovered batch is not valid")
    (recovery,) = seq.recoveries()[-1:]
    console.print(f"the operator bonds again and re-syncs with Layer 1: {recovery['requeued']} honest transfers "
                  f"queued again and posted as batch #{challenger.verified[-1].posted.header.index} "
                  f"({gas(receipt.gasUsed)} gas); the challenger agrees", highlight=False)
    return FRAUD_TRANSFERS


def _withdrawals(story, rollup, seq, challenger, wallets, token_id: int) -> None:
    chain, console, rng = story.chain, story.console, story.rng
    story.act("Rollup: withdrawals, claimed on Layer 1 after the challenge window")
    for wallet in wallets.values():
        wallet.withdraw(round_amount(rng.randint(story.unit, 3 * story.unit)))
    wallets["bob"].withdraw(10 * 10**18, token=token_id)
    seq.collect_fees()  # the fee pool goes to the operator's own L2 account...
    operator = Wallet(seq.proposer, rollup, seq)
    seq.post_batch()
    operator.withdraw(round_amount(operator.balance()))  # ...from where it withdraws like anyone
    seq.post_batch()
    if challenger.sync():
        raise AssertionError("the challenger rejected an honest withdrawal batch")
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
