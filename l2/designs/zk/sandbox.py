"""The zk-rollup's part of `l2 sandbox`: the operator (a service, its SQLite file in the session folder, the
prover of the deployed circuit) and a wallet per user that registers with 10 units on first use.

Nothing is proven at start, and the prover's process (its proving key takes seconds to load) starts only with
the first proof: a session that never touches the zk-rollup pays for its contracts and nothing else. A
wallet's first payment registers it (and its payee) through the Layer-1 queue; the operator accepts the
payment on top of the queued registrations and proves them all in its next batch.
"""

from __future__ import annotations

from l2.designs.api import SandboxEnv, SandboxPart
from l2.designs.zk.node import open_node
from l2.designs.zk.wallet import Wallet
from l2.output import eth


class SandboxWallet:
    """A user's zk-rollup wallet in the sandbox: registered (`deposit` units) the first time it is used."""

    def __init__(self, name: str, wallet: Wallet, deposit: int):
        self.name = name
        self.wallet = wallet
        self.deposit_on_register = deposit

    def __repr__(self) -> str:
        state = f"account {self.index}" if self.index else "not registered yet"
        return f"<zk wallet {self.name}: {state}>"

    @property
    def index(self) -> int:
        return self.wallet.index

    @property
    def address(self) -> str:
        return self.wallet.address

    def register(self) -> None:
        """Register through the Layer-1 queue with the sandbox's deposit (a no-op if done); the next batch
        proves it."""
        _register([self])

    def pay(self, to: SandboxWallet, amount: int, fee: int = 0) -> None:
        """A signed transfer to `to`, proven by the next batch (registering either wallet first if needed)."""
        _register([self, to])
        self.wallet.pay(to.wallet, amount, fee)

    def withdraw(self, amount: int, fee: int = 0) -> None:
        """A transfer to Layer 1: claimable as soon as its batch is verified (then `claim`)."""
        _register([self])
        self.wallet.withdraw(amount, fee)

    def deposit(self, amount: int):
        """More ETH through the Layer-1 queue, credited by the next batch."""
        _register([self])
        return self.wallet.deposit(amount)

    def claim(self):
        return self.wallet.claim()

    def balance(self) -> int:
        """The balance after everything the operator accepted (0 before registration)."""
        return self.wallet.balance()


def _register(wallets: list[SandboxWallet]) -> None:
    for wallet in dict.fromkeys(wallets):
        if not wallet.index:
            wallet.wallet.register(wallet.deposit_on_register)


def part(env: SandboxEnv) -> SandboxPart:
    node = open_node(env.chain, env.addresses, env.operator, env.workdir / "zk-operator.db", max_age=env.batch_time)
    rollup, operator = node.rollup, node.operator
    deposit = 10 * env.unit
    wallets = {name: SandboxWallet(name, node.wallet(account), deposit) for name, account in env.users.items()}
    by_address = {w.address: w for w in wallets.values()}

    def cells(name: str, address: str) -> list[str]:
        wallet = by_address.get(address)
        return [eth(wallet.balance())] if wallet is not None and wallet.index else ["-"]

    def status() -> list[str]:
        return [f"zk-rollup: {rollup.batch_count()} proven batch(es) verified on Layer 1, {operator.pending_count()} "
                f"waiting; {'FROZEN (exodus)' if rollup.frozen() else 'live'}"]

    shape = rollup.shape
    return SandboxPart(
        objects={"zk_rollup": rollup, "zk_operator": operator, **{f"{n}_zk": w for n, w in wallets.items()}},
        services=[operator],
        contracts=[f"zk rollup {rollup.address} (ZkRollup, depth {shape.depth}, {shape.n_tx} transfers per proof)"],
        banner=[f"  zk rollup  {', '.join(f'{n}_zk' for n in wallets)}: Wallets (pay, withdraw, deposit, claim), "
                f"each registered with {eth(deposit, 0)} on first use",
                f"             zk_operator proves a batch ({node.prover.build.constraints():,} constraints) "
                "as soon as something waits; keys from a DEV-ONLY single-party setup"],
        helpers=[],
        columns=["zk ETH"],
        cells=cells,
        status=status,
        close=operator.close,
    )
