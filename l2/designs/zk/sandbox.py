"""The zk-rollup's part of `l2 sandbox`: the operator (a service, its SQLite file in the session folder, the
prover of the deployed circuit) and a Wallet per user, each registered with 10 units in the first batch."""

from __future__ import annotations

from l2.designs.api import SandboxEnv, SandboxPart
from l2.designs.zk.node import open_node
from l2.output import eth


def part(env: SandboxEnv) -> SandboxPart:
    node = open_node(env.chain, env.addresses, env.operator, env.workdir / "zk-operator.db", max_age=env.batch_time)
    rollup, operator = node.rollup, node.operator
    wallets = {name: node.wallet(account) for name, account in env.users.items()}
    deposit = 10 * env.unit
    for wallet in wallets.values():
        wallet.register(deposit)
    while operator.pending_count():
        operator.step(urgent=True)
    by_address = {w.address: w for w in wallets.values()}

    def cells(name: str, address: str) -> list[str]:
        wallet = by_address.get(address)
        return [eth(wallet.balance())] if wallet is not None else ["-"]

    def status() -> list[str]:
        return [f"zk-rollup: {rollup.batch_count()} proven batch(es) verified on Layer 1, {operator.pending_count()} "
                f"waiting; {'FROZEN (exodus)' if rollup.frozen() else 'live'}"]

    shape = rollup.shape
    return SandboxPart(
        objects={"zk_rollup": rollup, "zk_operator": operator, **{f"{n}_zk": w for n, w in wallets.items()}},
        services=[operator],
        contracts=[f"zk rollup {rollup.address} (ZkRollup, depth {shape.depth}, {shape.n_tx} transfers per proof)"],
        banner=[f"  zk rollup  {', '.join(f'{n}_zk' for n in wallets)}: Wallets with {eth(deposit, 0)} each "
                "(pay, withdraw, claim)",
                f"             zk_operator proves a batch ({node.prover.build.constraints():,} constraints) "
                "whenever something waits; keys from a DEV-ONLY single-party setup"],
        helpers=[],
        columns=["zk ETH"],
        cells=cells,
        status=status,
        close=operator.close,
    )
