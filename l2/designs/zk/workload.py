"""How `l2 compare`'s workload runs through the zk-rollup: every participant registers with its deposit;
payments are signed transfers to the operator, proven and verified in batches; at the end everyone
withdraws everything and claims it at once (no window: the batch is proven)."""

from __future__ import annotations

import math

from l2.designs.api import CompareEnv
from l2.designs.zk.errors import BatchRejected
from l2.designs.zk.node import open_node
from l2.runtime.service import run_round

MAX_ROUNDS = 10_000
BLOCK_S = 1  # the block that carries the proof: a second on the embedded chain (12 s on mainnet)


class ZkWorkload:
    def __init__(self, env: CompareEnv):
        self.env = env
        self.node = open_node(env.chain, env.addresses, env.operator, env.workdir / "compare-zk-operator.db")
        self.wallets = {name: self.node.wallet(account) for name, account in env.participants.items()}
        self.holders = [self.node.rollup.address]
        # A payment is final once its batch is verified: the proof's time (wall clock, measured on the batches
        # that carry the payments) plus one block.
        self.payment_final_after = 0

    def enter(self, deposits: dict[str, int]) -> None:
        for name, amount in deposits.items():
            self.wallets[name].register(amount)
        self._post_all()

    def pay(self, payer: str, payee: str, amount: int) -> None:
        self.wallets[payer].pay(self.wallets[payee], amount)

    def settle(self) -> None:
        proofs = self._post_all()
        self.payment_final_after = math.ceil(max(proofs, default=0.0)) + BLOCK_S

    def exit(self) -> None:
        for wallet in self.wallets.values():
            if wallet.balance():
                wallet.withdraw(wallet.balance())
        self._post_all()
        for wallet in self.wallets.values():
            if self.node.rollup.withdrawable(wallet.address):
                wallet.claim()
        self.node.operator.close()

    def balance(self, name: str) -> int:
        return self.wallets[name].balance()

    def _post_all(self) -> list[float]:
        """Prove and post until nothing waits; the seconds each batch's proof took."""
        proofs = []
        for _ in range(MAX_ROUNDS):
            batches = self.node.rollup.batch_count()
            events = run_round([self.node.operator], urgent=True)
            trouble = [e for e in events if e.text.startswith("error:") or "refused" in e.text]
            if trouble:
                raise BatchRejected(f"an honest run went wrong: {trouble[0]}")
            if self.node.rollup.batch_count() > batches:
                proofs.append(self.node.operator.last_prove_s)
            if self.node.operator.pending_count() == 0:
                return proofs
        raise BatchRejected("transactions still pending after every round")

