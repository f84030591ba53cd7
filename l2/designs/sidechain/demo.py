"""The sidechain's act of `l2 demo`: validator processes start, staked on Layer 1; a deposit locked in the
DepositManager lands on the sidechain; payments there; a contract deployed and called there; a burn is
checkpointed by the validators and exited on Layer 1; the bridge's books are printed (locked on Layer 1 =
minted - burned on the sidechain); last, one validator equivocates with its own key and the other's
evidence reporter gets its stake slashed on Layer 1 (after the exit: with two validators, the act's
Layer-1 business is done before the set loses half its stake)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from l2.designs.sidechain.session import SIDECHAIN_GAS_MONEY, Sidechain
from l2.output import eth, gas, table

VALIDATORS = 2  # processes; `l2 sidechain up` starts 4 by default
MAX_PAYMENTS = 200  # sidechain transfers are real transactions in blocks: the act stays short
MINTED = 1_000 * 10**18  # TestToken units alice mints to bob on the sidechain
BYZANTINE = 1  # the validator whose key signs two conflicting prevotes


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
        created = sc.deploy(alice, "TestToken", "Sidechain token", "SIDE")
        token = sc.contract("TestToken", created["contractAddress"])
        mint = sc.execute(alice, token.functions.mint(bob.address, MINTED))
        held = token.functions.balanceOf(bob.address).call()  # an eth_call, answered by validator 0
        console.print(f"alice deploys the project's TestToken through validator 0's JSON-RPC, a signed creation "
                      f"transaction like on any node ({created['gasUsed']:,} sidechain gas): it is at "
                      f"{created['contractAddress']} from block {created['blockNumber']}; she mints to bob in block "
                      f"{mint['blockNumber']}, and eth_call balanceOf(bob) reads back {held / 10**18:,g} SIDE.",
                      highlight=False)
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
        burned_before = sc.l1.burned()
        slash = sc.equivocate(BYZANTINE)
        slashed = slash.slashing
        burned_now = sc.l1.burned() - burned_before
        if slashed.amount != slash.stake_before or burned_now != slashed.amount - slashed.reward:
            raise AssertionError(f"the slash does not balance: stake {slash.stake_before}, taken {slashed.amount}, "
                                 f"reward {slashed.reward} + burned {burned_now}")
        first, second = slash.votes
        honest = [i for i in range(VALIDATORS) if i != BYZANTINE]
        reporter = next((f"validator {i}" for i in honest if sc.signers[i].address == slashed.reporter),
                        slashed.reporter)
        console.print(f"validator {BYZANTINE} turns byzantine: with its own key it signs two prevotes for height "
                      f"{first.height}, round {first.round} (nil, and a block nobody proposed) and sends both to its "
                      f"peers. They record the pair as evidence; {reporter}'s reporter proves it on Layer 1 "
                      f"(StakeManager.slashDoubleVote, {slash.l1_gas:,} gas): validator {BYZANTINE}'s stake "
                      f"{eth(slash.stake_before)} -> {eth(slash.stake_after)}, {eth(slashed.reward)} of it to the "
                      f"reporter, {eth(burned_now)} burned (held by the StakeManager for good).", highlight=False)
        checkpoints = len(sc.l1.checkpoints())
    console.print(f"the validators submitted {checkpoints} checkpoints; they are stopped and their unspent gas "
                  "money (with the reporter's reward) returned to the operator.", highlight=False)
    out = table("Layer-1 transactions of the sidechain's user", "transaction", "gas")
    for what, used in layer1:
        out.add_row(what, gas(used))
    console.print(out)
    return n
