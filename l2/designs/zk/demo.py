"""The zk-rollup acts of `l2 demo`: registrations through the Layer-1 queue, transfers proven by a Groth16
SNARK and verified on Layer 1, a withdrawal paid at once beside the optimistic rollup's wait, and an operator
that stops, after which every user leaves through exodus with a Merkle proof rebuilt from Layer-1 data."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from l2.designs.zk import l1
from l2.designs.zk.node import open_node
from l2.output import eth, gas, table

USERS = ("alice", "bob", "carol", "dave")
# A full batch takes seconds to prove: the transfers act proves one batch's worth (8 transfers at least, so
# that a small test circuit still shows a few), not every payment of the story.
MAX_BATCHES = 1
MIN_TRANSFERS = 8


def run(story) -> int:
    chain = story.chain
    with tempfile.TemporaryDirectory(prefix="l2-zk-demo-") as tmp:
        node = open_node(chain, story.deployment, story.accounts["operator"], Path(tmp) / "zk-operator.db")
        try:
            wallets = {name: node.wallet(story.accounts[name]) for name in USERS}
            operator_wallet = node.wallet(story.accounts["operator"])
            _registrations(story, node, wallets, operator_wallet)
            made = _transfers(story, node, wallets)
            _withdrawal(story, node, wallets)
            _exodus(story, node, wallets, operator_wallet)
        finally:
            node.operator.close()
    return made


def _post(node, keep: int = 0) -> list[tuple[int, float, int]]:
    """Batches until at most `keep` queue entries (and no transfer) wait: (batch number, proof seconds,
    Layer-1 gas) each."""
    out = []
    while node.operator.pending or len(node.rollup.queued()) > keep:
        events = node.operator.step(urgent=True)
        if not events or "refused" in events[0].text:
            raise AssertionError(f"the operator could not post an honest batch: {events}")
        out.append((node.rollup.batch_count(), node.operator.last_prove_s, _last_gas(node)))
    return out


def _last_gas(node) -> int:
    log = node.rollup.contract.events.BatchVerified().get_logs(from_block=node.rollup.chain.block_number())[-1]
    return node.rollup.chain.w3.eth.get_transaction_receipt(log.transactionHash)["gasUsed"]


def _registrations(story, node, wallets, operator_wallet) -> None:
    console, rollup = story.console, node.rollup
    story.act("zk-rollup: accounts registered through the Layer-1 queue, credited by a proven batch")
    shape = rollup.shape
    console.print(f"ZkRollup at {rollup.address}: a 4-ary Poseidon tree of 2^{shape.depth} accounts, batches of "
                  f"{shape.n_queue} queue entries and {shape.n_tx} transfers, circuit of "
                  f"{node.prover.build.constraints():,} constraints (circom2 --O2, Groth16 on BN254).",
                  highlight=False)
    if node.prover.origin == "dev-setup":
        console.print("WARNING: the proving keys come from a single-party setup: whoever ran it can forge proofs. "
                      "Development only; a real deployment imports ceremony keys (--zkey).", style="bold red")
    loaded = node.prover.start()
    if loaded:
        console.print(f"Proving key loaded in {loaded:.1f} s (once per process; a dev setup's, cached by the build).",
                      highlight=False)
    rows = table("Registrations", "account", "index", "deposit", "gas")
    receipt = operator_wallet.register(rollup.min_deposit)  # first: the fee account is in the first batch
    node.operator.fee_index = operator_wallet.index
    rows.add_row("operator (fees)", str(operator_wallet.index), eth(rollup.min_deposit), gas(receipt.gasUsed))
    for name, wallet in wallets.items():
        receipt = wallet.register(10 * story.unit)
        rows.add_row(name, str(wallet.index), eth(10 * story.unit), gas(receipt.gasUsed))
    console.print(rows)
    batches = _post(node, keep=shape.n_queue)
    waiting = [name for name, wallet in wallets.items()
               if wallet.index in {entry.index for _, entry in rollup.queued()}]
    if batches:
        console.print(f"{len(batches)} batch(es) consumed the queue in order, each proven in "
                      f"{max(b[1] for b in batches):.1f} s or less and verified on Layer 1 "
                      f"({gas(sum(b[2] for b in batches))} gas in all).", highlight=False)
    if waiting:
        console.print(f"{', '.join(waiting)} stay queued: the operator already counts their deposits, and their "
                      "registrations go in the proof of the transfers below.", highlight=False)


def _transfers(story, node, wallets) -> int:
    console, rng = story.console, story.rng
    slots = node.rollup.shape.n_tx
    n = min(story.payments, max(MAX_BATCHES * slots, MIN_TRANSFERS))
    story.act(f"zk-rollup: {n} transfers, EdDSA-signed, proven valid before Layer 1 accepts them")
    fee = 10**12
    names = list(wallets)
    for _ in range(n):
        sender, receiver = rng.sample(names, 2)
        amount = rng.randint(1, 9) * story.unit // 100
        wallets[sender].pay(wallets[receiver], amount, fee)
    batches = _post(node)
    rows = table("Proven batches", "batch", "prove (s)", "Layer-1 gas", "gas per transfer slot")
    for number, seconds, used in batches:
        rows.add_row(f"#{number}", f"{seconds:.1f}", gas(used), gas(used / slots))
    console.print(rows)
    console.print("Each batch posts 13 bytes per transfer (from, to, amount and fee as floats) and one proof; "
                  "its one public input is sha256 of the roots, the queue entries and those bytes, recomputed "
                  "by the contract, so the proof covers exactly the published data.", highlight=False)
    if n < story.payments:
        console.print(f"(the other rollups make {story.payments:,} payments; proofs take seconds, so this act "
                      f"makes {n})", style="dim")
    return n


def _withdrawal(story, node, wallets) -> None:
    console, chain = story.console, story.chain
    story.act("zk-rollup: a withdrawal paid as soon as its batch is verified")
    alice = wallets["alice"]
    amount = story.unit
    started = time.perf_counter()
    alice.withdraw(amount)
    _post(node)
    receipt = alice.claim()
    seconds = time.perf_counter() - started
    console.print(f"alice withdrew {eth(amount)}: proven, verified and claimed in {seconds:.1f} s (claim "
                  f"{gas(receipt.gasUsed)} gas).", highlight=False)
    if "OptimisticRollup" in story.deployment:
        optimistic = chain.contract("OptimisticRollup", story.deployment["OptimisticRollup"])
        window = optimistic.functions.challengeWindow().call()
        console.print(f"The optimistic rollup pays the same withdrawal only after its challenge window: {window:,} s "
                      "here, 7 days in production.", highlight=False)


def _exodus(story, node, wallets, operator_wallet) -> None:
    console, chain, rollup = story.console, story.chain, node.rollup
    story.act("zk-rollup: the operator stops; exodus")
    bob = wallets["bob"]
    bob.deposit(story.unit)
    console.print(f"bob deposits {eth(story.unit)}; the operator never includes it. After the inclusion window "
                  f"({rollup.inclusion_window} s) anyone may freeze the rollup.", highlight=False)
    chain.advance_time(rollup.inclusion_window + 1)
    rollup.activate_exodus(wallets["carol"].account)
    state = l1.rebuild_state(rollup)  # no operator needed: Layer-1 events and calldata are enough
    rows = table("Exits (Merkle proofs against the last verified root, rebuilt from Layer-1 data)", "account",
                 "balance", "gas")
    for name, wallet in [*wallets.items(), ("operator", operator_wallet)]:
        balance = state.account(wallet.index).balance
        receipt = rollup.exit(wallet.account, wallet.index, state)
        rows.add_row(name, eth(balance), gas(receipt.gasUsed))
    for position, _entry in rollup.queued():
        receipt = rollup.refund_queued(bob.account, position)
        rows.add_row("bob's queued deposit", eth(story.unit), gas(receipt.gasUsed))
    console.print(rows)
    for wallet in wallets.values():
        if rollup.withdrawable(wallet.address):
            wallet.claim()
    console.print(f"ZkRollup now holds {eth(rollup.held())}: every account left once, with what the last "
                  "verified root says.", highlight=False)
