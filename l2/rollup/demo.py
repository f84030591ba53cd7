"""Demo section: the optimistic rollup end to end on the given chain.

Deposits on L1, L2 transfers posted as one batch, a faulty batch caught by the independent
verifier and slashed, a withdrawal claimed after the challenge window; gas figures throughout.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from l2.chain import Chain
from l2.rollup import l1
from l2.rollup.sequencer import Sequencer
from l2.rollup.verifier import Verifier
from l2.rollup.wallet import Wallet

ETHER = 10**18


def run(chain: Chain, console: Console, deployment: dict[str, str]) -> None:
    console.rule("[bold]Optimistic rollup")
    # The deployment plan makes the deployer both the admin and the sequencer.
    admin = proposer = chain.accounts[0]
    alice_l1, bob_l1 = chain.accounts[2:4]
    challenger = chain.accounts[6] if len(chain.accounts) > 6 else chain.new_account()
    rollup = l1.RollupClient(chain, deployment["Rollup"])
    token = chain.contract("TestToken", deployment["TestToken"])
    rollup.register_token(admin, token.address)
    chain.transact(token.functions.mint(alice_l1.address, 1000 * ETHER), admin)
    console.print(f"Rollup at {rollup.address}; challenge window {rollup.challenge_window}s, "
                  f"inclusion window {rollup.inclusion_window}s")
    gas = Table(title="rollup: Layer-1 gas")
    gas.add_column("action")
    gas.add_column("gas", justify="right")
    gas.add_column("compare with")

    with tempfile.TemporaryDirectory() as tmp:
        seq = Sequencer(rollup, proposer, Path(tmp) / "sequencer.db")
        seq.ensure_bond()
        alice, bob = Wallet(alice_l1, rollup, seq), Wallet(bob_l1, rollup, seq)
        r = alice.deposit(5 * ETHER)
        gas.add_row("deposit ETH", f"{r.gasUsed:,}", "Optimism depositTransaction 68,422")
        bob.deposit(1 * ETHER)
        alice.deposit(100 * ETHER, token=1)
        rollup.deposit_eth(proposer, ETHER)  # the operator's own L2 account
        seq.sync_queue()
        console.print("deposits queued on L1 and picked up by the sequencer: "
                      f"alice #{alice.index}, bob #{bob.index}")

        for i in range(40):
            alice.transfer(bob.address, (i + 1) * 10**15, fee=10**3)
        alice.transfer(bob.address, 25 * ETHER, token=1)
        r = seq.post_batch()
        n = seq.state.size
        gas.add_row("batch: 4 deposits + 41 transfers", f"{r.gasUsed:,}",
                    f"{r.gasUsed / 45:,.0f} per transition; Celer 4,889")
        console.print(f"batch 0 posted: 45 transitions, L2 state root {seq.state.root.hex()[:16]}...")

        verifier = Verifier(rollup, challenger)
        assert verifier.sync() == []
        console.print(f"verifier rebuilt the state from L1 alone: root matches = {verifier.state.root == seq.state.root}; "
                      f"{n} accounts")

        bob.withdraw(ETHER // 2)
        seq.post_batch()
        verifier.sync()
        console.print("bob withdrew 0.5 ETH on L2 (batch 1)")

        # the operator turns dishonest for one batch: it prints money
        seq.fault = "print_money"
        alice.transfer(bob.address, 10**15)
        seq.post_batch()
        console.print("[yellow]batch 2 posted by a faulty sequencer: it spends money it does not have")
        bond_before = rollup.fn.bonds(proposer.address).call()
        (fraud,) = verifier.sync()
        console.print(f"[green]verifier caught it: {fraud.reason}")
        console.print(f"[green]fraud proof accepted, batch 2 reverted, bond {bond_before / ETHER:g} ETH slashed "
                      f"(half to the challenger, half burned); batches standing: {rollup.batch_count()}")
        gas.add_row("fraud proof (one transition, one tx)", f"{fraud.receipt.gasUsed:,}", "Celer max 198,055")

        chain.advance_time(rollup.challenge_window + 1)
        (claim,) = verifier.claimables(bob.address)
        before = chain.balance(bob.address)
        r = verifier.claim(challenger, claim)
        gas.add_row("withdrawal claim (after finality)", f"{r.gasUsed:,}", "Optimism prove+finalize ~228,000")
        console.print(f"bob claimed {(chain.balance(bob.address) - before) / ETHER:g} ETH on L1 after the window")
        seq.close()
    console.print(gas)
