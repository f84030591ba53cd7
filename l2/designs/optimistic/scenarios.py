"""Rollup stories that exercise every Layer-1 path, shared by the bench and the gas report.

Each deploys its own Rollup on the given chain and runs real parties (Sequencer,
Challenger, Wallet) against it, so what they measure is what users would pay.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from l2.designs.optimistic import l1
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.faults import FAULTS
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.wallet import Wallet


def prove_every_fault(chain, commitments: dict[str, int] | None = None) -> dict[str, int]:
    """fault -> gas of the fraud proof that catches it, each from a clean start (chain snapshot per fault);
    the gas of each proof's commitment goes to `commitments` if given."""
    proposer, challenger = chain.accounts[1], chain.accounts[6]
    rollup = l1.deploy(chain, proposer.address)
    gas = {}
    for fault in sorted(FAULTS):
        snapshot = chain.snapshot()
        try:
            with tempfile.TemporaryDirectory(prefix="l2-faults-") as tmp:
                rollup.deposit_bond(proposer, l1.DEV_MIN_BOND)
                seq = Sequencer(rollup, proposer, Path(tmp) / "s.db", fault=fault)
                try:
                    alice, bob = (Wallet(u, rollup, seq) for u in chain.accounts[2:4])
                    alice.deposit(10**18)
                    bob.deposit(10**18)
                    rollup.deposit_eth(proposer, 10**18)  # some faults spend from the proposer's own account
                    seq.sync_queue()
                    alice.transfer(bob, 10**17, fee=10**12)
                    seq.post_batch()
                    (fraud,) = Challenger(rollup, challenger).sync()
                    gas[fault] = fraud.receipt.gasUsed
                    if commitments is not None:
                        commitments[fault] = fraud.commit_receipt.gasUsed
                finally:
                    seq.close()
        finally:
            chain.revert(snapshot)
    return gas


def bridge_paths(chain) -> None:
    """A token deposit, a forced withdrawal included and claimed, fees collected and withdrawn, the bond withdrawn."""
    admin, proposer, alice, bob, challenger = (chain.accounts[i] for i in (0, 1, 2, 3, 6))
    rollup = l1.deploy(chain, proposer.address, sender=admin)
    token = chain.deploy("TestToken", "Scenario Token", "SCN", sender=admin)
    rollup.register_token(admin, token.address)
    chain.transact(token.functions.mint(alice.address, 10**21), admin)
    with tempfile.TemporaryDirectory(prefix="l2-bridge-") as tmp:
        seq = Sequencer(rollup, proposer, Path(tmp) / "s.db")
        try:
            seq.ensure_bond()
            wallets = [Wallet(a, rollup, seq) for a in (alice, bob, proposer)]
            alice_l2, bob_l2, proposer_l2 = wallets
            alice_l2.deposit(10**18)
            alice_l2.deposit(10**20, token=1)
            bob_l2.deposit(10**18)
            proposer_l2.deposit(10**16)
            seq.sync_queue()
            seq.post_batch()
            alice_l2.transfer(bob_l2, 10**17, fee=10**12)
            alice_l2.transfer(bob_l2, 10**19, token=1, fee=10**12)
            bob_l2.force_withdrawal(10**17)  # on Layer 1: batches must include it
            seq.sync_queue()
            seq.collect_fees()
            seq.post_batch()
            proposer_l2.withdraw(proposer_l2.balance())
            bob_l2.withdraw(10**18, token=1)
            seq.post_batch()
            checker = Challenger(rollup, challenger)
            if checker.sync():
                raise AssertionError("an honest batch was found fraudulent")
            chain.advance_time(rollup.challenge_window + 1)
            for claim in checker.claimables():
                checker.claim(challenger, claim)
            seq.withdraw_bond()
        finally:
            seq.close()
