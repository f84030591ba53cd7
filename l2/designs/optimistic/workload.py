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

MAX_BATCHES = 10_000  # posting loops are bounded: a sequencer that never empties is a bug


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
        for _ in range(MAX_BATCHES):
            if self.sequencer.post_batch() is None:
                break
        frauds = self.challenger.sync()
        if frauds:
            raise BatchStateMismatch(f"the challenger found fraud in an honest batch: {frauds[0].reason}")
