"""How `l2 compare`'s workload runs through the optimistic rollup: every participant registers its BLS
key and deposits; payments are BLS-signed transfers to the sequencer, aggregated into commitments and
posted in batches that an independent challenger replays from Layer-1 data; at the end everyone
withdraws everything (an amount is a 16-bit float: a balance leaves in two or three withdrawals) and
claims it on Layer 1 once the challenge window is over. The operator's fee account, opened with the
smallest deposit, leaves the same way."""

from __future__ import annotations

from l2.designs.api import CompareEnv
from l2.designs.optimistic.challenger import Challenger
from l2.designs.optimistic.errors import BatchStateMismatch
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.wallet import Wallet
from l2.runtime.service import run_round

MAX_ROUNDS = 10_000  # rounds are bounded: a sequencer that never empties is a bug


class OptimisticWorkload:
    def __init__(self, env: CompareEnv, max_batch: int = 1024):
        self.env = env
        self.client = RollupClient(env.chain, env.addresses["OptimisticRollup"])
        self.operator = Wallet(env.operator, self.client, None)
        self.max_batch = max_batch
        self.sequencer: Sequencer | None = None
        self.challenger = Challenger(self.client, env.challenger)
        self.wallets: dict[str, Wallet] = {}
        self.holders = [self.client.address]
        # A transfer is final on Layer 1 once the batch holding it is past its challenge window.
        self.payment_final_after = self.client.challenge_window

    def enter(self, deposits: dict[str, int]) -> None:
        minimum = self.client.contract.functions.minBond().call()
        if self.client.bond(self.env.operator.address) < minimum:
            self.client.deposit_bond(self.env.operator, minimum)
        self.operator.deposit(self.client.contract.functions.minDeposits(0).call())  # its fee account
        self.sequencer = Sequencer(self.client, self.env.operator, self.client.account_of(self.operator.address),
                                          self.env.workdir / "compare-sequencer.db", max_batch=self.max_batch)
        self.operator.sequencer = self.sequencer
        self.wallets = {name: Wallet(account, self.client, self.sequencer)
                        for name, account in self.env.participants.items()}
        for name, amount in deposits.items():
            self.wallets[name].deposit(amount)
        self._post_all()

    def pay(self, payer: str, payee: str, amount: int) -> None:
        self.wallets[payer].transfer(self.wallets[payee].address, amount)

    def settle(self) -> None:
        self._post_all()

    def exit(self) -> None:
        for wallet in [*self.wallets.values(), self.operator]:
            wallet.withdraw_all()
        self._post_all()
        self.env.chain.advance_time(self.client.challenge_window + 1)
        for claim in self.challenger.claimables():
            if not self.challenger.is_claimed(claim):
                self.challenger.claim(self.env.challenger, claim)
        self.client.withdraw_bond(self.env.operator)
        if self.sequencer is not None:
            self.sequencer.close()

    def balance(self, name: str) -> int:
        return self.wallets[name].balance()

    def _post_all(self) -> None:
        """Rounds of the operators (the sandbox's loop) until nothing is pending; any fraud, or a batch that
        cannot be checked, stops the workload: an honest run has none."""
        assert self.sequencer is not None
        for _ in range(MAX_ROUNDS):
            events = run_round([self.sequencer, self.challenger], urgent=True)
            trouble = [e for e in events if "fraudulent" in e.text or "waiting" in e.text]
            if trouble:
                raise BatchStateMismatch(f"an honest run went wrong: {trouble[0]}")
            if self.sequencer.pending_count() == 0 and not self.client.queue_entries(self.client.queue_head()):
                return
        raise BatchStateMismatch(f"{self.sequencer.pending_count()} transfers still pending after {MAX_ROUNDS} rounds")
