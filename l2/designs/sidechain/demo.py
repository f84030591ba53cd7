"""The sidechain's act of `l2 demo`: validator processes start, staked on Layer 1; a deposit locked in the
DepositManager lands on the sidechain; payments there; a burn is checkpointed by the validators and exited
on Layer 1; the bridge's books are printed (locked on Layer 1 = minted - burned on the sidechain)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from l2.designs.sidechain.session import SIDECHAIN_GAS_MONEY, Sidechain
from l2.output import eth, gas, table

VALIDATORS = 2  # processes; `l2 sidechain up` starts 4 by default
MAX_PAYMENTS = 200  # sidechain transfers are real transactions in blocks: the act stays short


def run(story) -> int:
    console, unit = story.console, story.unit
    alice, bob = story.accounts["alice"], story.accounts["bob"]
    n = max(1, min(story.payments, MAX_PAYMENTS))
    story.act(f"Sidechain: {VALIDATORS} validator processes, a deposit, {n:,} payments, a checkpointed exit")
    alloc = {alice.address: SIDECHAIN_GAS_MONEY, bob.address: SIDECHAIN_GAS_MONEY}
    with tempfile.TemporaryDirectory(prefix="l2-sidechain-demo-") as tmp, \
            Sidechain(story.chain, Path(tmp), addresses=story.deployment, validators=VALIDATORS,
                      funder=story.accounts["operator"], signer_gas=unit // 10, alloc=alloc) as sc:
        console.print(f"{VALIDATORS} validators staked in the StakeManager, each its own process with its own key, "
                      f"database and JSON-RPC port on 127.0.0.1 (sidechain chain id {sc.l1.sidechain_id}); they agree "
                      "on each block with Tendermint-style prevotes and precommits from more than 2/3 of the stake.",
                      highlight=False)
        for line in sc.status()[:-1]:
            console.print("  " + line, highlight=False)
        deposit = 2 * unit
        receipt = sc.deposit(alice, deposit)
        layer1 = [("alice locks ETH in the DepositManager", receipt.gasUsed)]
        waited = sc.wait_deposits()
        console.print(f"alice locks {eth(deposit)} on Layer 1; after {sc.l1.confirmations()} confirmations the "
                      f"validators apply the state sync: {waited:.1f} s later she holds "
                      f"{eth(sc.balance(alice.address) - SIDECHAIN_GAS_MONEY)} of bridged ETH on the sidechain.",
                      highlight=False)
        amount = deposit // (2 * n)
        started = time.monotonic()
        with story.progress("payments", n) as advance:
            for _ in range(n):
                sc.send(alice, bob.address, amount)
                advance()
            receipts = sc.wait_sent()
        took = time.monotonic() - started
        blocks = len({r["blockNumber"] for r in receipts})
        console.print(f"{n:,} transfers of {eth(amount)} from alice to bob, committed in {blocks} sidechain blocks "
                      f"in {took:.1f} s: final once committed, no Layer-1 transaction.", highlight=False)
        paid = n * amount
        sc.withdraw(bob, paid)
        burn = sc.wait_sent()[-1]
        started = time.monotonic()
        done = sc.exit(bob, burn)
        layer1.append(("bob proves his burn and is paid", done.l1_gas))
        console.print(f"bob burns {eth(paid)} on the sidechain's bridge in block {burn['blockNumber']}; the "
                      f"validators sign checkpoint {done.checkpoint_number} (blocks {done.checkpoint.start}.."
                      f"{done.checkpoint.end}) and submit it; bob proves the burn against its exit root and is "
                      f"paid on Layer 1 {time.monotonic() - started:.1f} s after burning.", highlight=False)
        minted = sc.bridge.functions.minted("0x" + "00" * 20).call()
        burned = sc.bridge.functions.burned("0x" + "00" * 20).call()
        locked = sc.l1.locked()
        if locked != minted - burned:
            raise AssertionError(f"the bridge does not balance: locked {locked} != minted {minted} - burned {burned}")
        console.print(f"conservation: locked on Layer 1 {eth(locked)} = minted on the sidechain {eth(minted)} - "
                      f"burned and exited {eth(burned)}", highlight=False)
        checkpoints = len(sc.l1.checkpoints())
    console.print(f"the validators submitted {checkpoints} checkpoints; they are stopped and their unspent gas "
                  "money returned to the operator.", highlight=False)
    out = table("Layer-1 transactions of the sidechain's user", "transaction", "gas")
    for what, used in layer1:
        out.add_row(what, gas(used))
    console.print(out)
    return n
