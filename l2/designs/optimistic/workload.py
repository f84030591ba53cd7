"""How `l2 compare`'s workload runs through the optimistic rollup: every participant deposits; payments
are signed transfers to the sequencer, posted in batches and checked by an independent challenger;
at the end everyone withdraws everything and claims it on Layer 1 once the challenge window is over."""

from __future__ import annotations

from l2.designs.api import CompareEnv
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.errors import BatchStateMismatch
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.wallet import Wallet
from l2.runtime.service import run_round

MAX_BATCHES = 10_000  # rounds are bounded: a sequencer that never empties is a bug


class OptimisticWorkload:
    def __init__(self, env: CompareEnv, max_batch: int = 256):
        self.env = env
        self.rollup = RollupClient(env.chain, env.addresses["OptimisticRollup"])
        self.sequencer = Sequencer(self.rollup, env.operator, env.workdir / "compare-sequencer.db",
                                   max_batch=max_batch)
        self.challenger = Challenger(self.rollup, env.challenger)
        self.wallets = {name: Wallet(account, self.rollup, self.sequencer)
                        for name, account in env.participants.items()}
        self.holders = [self.rollup.address]
        # A transfer is final on Layer 1 once the batch holding it is past its challenge window.
        self.payment_final_after = self.rollup.challenge_window

    def enter(self, deposits: dict[str, int]) -> None:
        self.sequencer.ensure_bond()
        for name, amount in deposits.items():
            self.wallets[name].deposit(amount)
        self.sequencer.sync_queue()
        self._post_all()

    def pay(self, payer: str, payee: str, amount: int) -> None:
        self.wallets[payer].transfer(self.wallets[payee], amount)

    def settle(self) -> None:
        self._post_all()

    def exit(self) -> None:
        for wallet in self.wallets.values():
            if wallet.balance():
                wallet.withdraw(wallet.balance())
        self._post_all()
        self.env.chain.advance_time(self.rollup.challenge_window + 1)
        for claim in self.challenger.claimables():
            if not self.challenger.is_claimed(claim):
                self.challenger.claim(self.env.challenger, claim)
        self.sequencer.withdraw_bond()
        self.sequencer.close()

    def balance(self, name: str) -> int:
        return self.wallets[name].balance()

    def _post_all(self) -> None:
        """Rounds of the operators (the sandbox's loop) until nothing is pending; any error, fraud or batch
        that cannot be checked stops the workload: an honest run has none."""
        for _ in range(MAX_BATCHES):
            events = run_round([self.sequencer, self.challenger], urgent=True)
            trouble = [e for e in events if e.text.startswith("error:") or "fraudulent" in e.text
                       or "CANNOT CHECK" in e.text]
            if trouble:
                raise BatchStateMismatch(f"an honest run went wrong: {trouble[0]}")
            if self.sequencer.pending_count() == 0:
                return
        raise BatchStateMismatch(f"{self.sequencer.pending_count()} transactions still pending after "
                                 f"{MAX_BATCHES} rounds")
