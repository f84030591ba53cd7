"""Rollup stories that exercise every Layer-1 path, shared by the bench and the gas report.

Each deploys its own rollup on the given chain and runs the real parties (Sequencer, Challenger,
Wallet) against it, so what they measure is what users would pay.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from l2.designs.optimistic import l1
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.sequencer import FAULTS, Sequencer
from l2.designs.optimistic.wallet import Wallet
from l2.runtime.service import run_round

# py-evm's pairings are pure Python: the scenarios' rollup takes commitments of 8, enough for what they show.
SCENARIO_COMMITMENT_SIZE = 8


def prove_every_fault(chain, commitments: dict[str, int] | None = None) -> dict[str, int]:
    """fault -> gas of the fraud proof that catches it, each from a clean start (chain snapshot per fault);
    the gas of each proof's commitment goes to `commitments` if given."""
    proposer, challenger = chain.accounts[1], chain.accounts[6]
    client = l1.deploy(chain, proposer.address, k=SCENARIO_COMMITMENT_SIZE)
    gas = {}
    for fault in sorted(FAULTS):
        snapshot = chain.snapshot()
        try:
            with tempfile.TemporaryDirectory(prefix="l2-faults-") as tmp:
                operator = Wallet(proposer, client, None)
                operator.deposit(10**16)  # its fee account: the first deposit, account 1
                seq = Sequencer(client, proposer, 1, Path(tmp) / "s.db")
                try:
                    alice, bob = (Wallet(u, client, seq) for u in chain.accounts[2:4])
                    alice.deposit(10**18)
                    bob.deposit(10**18)
                    run_round([seq], urgent=True)
                    alice.transfer(bob.address, 10**17, fee=10**12)
                    bob.transfer(alice.address, 10**16, fee=10**12)
                    seq.fault = fault
                    run_round([seq], urgent=True)
                    checker = Challenger(client, challenger)
                    run_round([checker])
                    if checker.proven != 1:
                        raise AssertionError(f"the {fault} batch was not proven")
                    gas[fault] = checker.last_proof[1].gasUsed
                    if commitments is not None:
                        commitments[fault] = checker.last_proof[0].gasUsed
                finally:
                    seq.close()
        finally:
            chain.revert(snapshot)
    return gas


def bridge_paths(chain) -> None:
    """Keys registered, a token deposit, a forced withdrawal included and claimed, fees withdrawn, the bond
    withdrawn."""
    admin, proposer, alice, bob, challenger = (chain.accounts[i] for i in (0, 1, 2, 3, 6))
    client = l1.deploy(chain, proposer.address, sender=admin, k=SCENARIO_COMMITMENT_SIZE)
    token = chain.deploy("TestToken", "Scenario Token", "SCN", sender=admin)
    client.register_token(admin, token.address)
    chain.transact(token.functions.mint(alice.address, 10**21), admin)
    with tempfile.TemporaryDirectory(prefix="l2-bridge-") as tmp:
        operator = Wallet(proposer, client, None)
        operator.deposit(10**16)
        client.deposit_bond(proposer, l1.DEV_MIN_BOND)
        seq = Sequencer(client, proposer, 1, Path(tmp) / "s.db")
        try:
            operator.sequencer = seq
            alice_l2, bob_l2 = (Wallet(a, client, seq) for a in (alice, bob))
            alice_l2.deposit(10**18)
            alice_l2.deposit(10**20, token=1)
            bob_l2.deposit(10**18)
            run_round([seq], urgent=True)
            alice_l2.transfer(bob.address, 10**17, fee=10**12)
            bob_l2.force_withdrawal(10**17)  # on Layer 1: batches must include it
            run_round([seq], urgent=True)
            operator.withdraw_all()
            bob_l2.withdraw(10**17)
            run_round([seq], urgent=True)
            checker = Challenger(client, challenger)
            if any("fraudulent" in e.text for e in run_round([checker])):
                raise AssertionError("an honest batch was found fraudulent")
            chain.advance_time(client.challenge_window + 1)
            for claim in checker.claimables():
                checker.claim(challenger, claim)
            client.withdraw_bond(proposer)
        finally:
            seq.close()
