"""The sidechain's part of `l2 sandbox`: validator processes staked on Layer 1 (the embedded chain reaches
them through the gateway), a web3 connected to the sidechain like to any node, the bridge on both sides,
and helpers to deposit, pay on the sidechain and exit. The cluster is a service: each round it tells a
checkpoint that landed on Layer 1 and a validator that went down."""

from __future__ import annotations

from l2.designs.api import SandboxEnv, SandboxPart
from l2.designs.sidechain.session import SIDECHAIN_GAS_MONEY, Sidechain
from l2.output import eth
from l2.runtime.service import Event

VALIDATORS = 2
# Sidechain blocks per checkpoint: an exit waits a few seconds, and Layer 1 (whose blocks the console's
# story reads) gets a checkpoint every few seconds rather than every block or two.
INTERVAL = 16


class ClusterService:
    """Watches the validator processes; the validators do the work (blocks, checkpoints) themselves. It tells
    only what needs someone's attention (a validator down): checkpoints land every second or so and are
    counted in the status lines rather than told one by one between statements."""

    name = "sidechain"

    def __init__(self, sc: Sidechain):
        self.sc = sc
        self.down: set[int] = set()

    def step(self, urgent: bool = False) -> list[Event]:
        events: list[Event] = []
        cluster = self.sc.cluster
        if cluster is None:
            return events
        for i in range(len(self.sc.signers)):
            if not cluster.alive(i) and i not in self.down:
                self.down.add(i)
                events.append(Event(self.name, f"validator {i} is down: see {cluster.log_path(i)}"))
            elif cluster.alive(i):
                self.down.discard(i)
        return events


def part(env: SandboxEnv) -> SandboxPart:
    users = env.users
    alloc: dict[str, int] = {u.address: SIDECHAIN_GAS_MONEY for u in users.values()}
    with env.lock:
        sc = Sidechain(env.chain, env.workdir / "sidechain", addresses=env.addresses, validators=VALIDATORS,
                       funder=env.operator, signer_gas=env.unit // 10, alloc=alloc, dev=env.unit >= 10**18,
                       interval=INTERVAL)

    def sc_deposit(who: str, wei: int) -> None:
        """`who` locks `wei` on Layer 1; waits until the validators have applied it on the sidechain."""
        with env.lock:
            sc.deposit(users[who], wei)
            took = sc.wait_deposits()
        env.console.print(f"{who} has {eth(sc.balance(users[who].address))} on the sidechain ({took:.1f} s after the "
                          "deposit)", highlight=False)

    def sc_pay(payer: str, payee: str, wei: int) -> None:
        """A transfer on the sidechain, final once committed."""
        receipt = sc.transfer(users[payer], users[payee].address, wei)
        env.console.print(f"committed in sidechain block {receipt['blockNumber']}: {payer} paid {payee} {eth(wei)}",
                          highlight=False)

    def sc_exit(who: str, wei: int) -> None:
        """`who` burns `wei` on the sidechain and, once a checkpoint covers it, is paid on Layer 1."""
        sc.withdraw(users[who], wei)
        burn = sc.wait_sent()[-1]
        with env.lock:
            done = sc.exit(users[who], burn)
        env.console.print(f"burn {done.burn.id} proven against checkpoint {done.checkpoint_number}: {eth(wei)} paid "
                          f"to {who} on Layer 1 ({done.l1_gas:,} gas)", highlight=False)

    def cells(name: str, address: str) -> list[str]:
        if name not in users:
            return [""]
        return [eth(sc.balance(address))]

    def close() -> None:
        with env.lock:
            sc.close()

    assert sc.cluster is not None and sc.cluster.config.l1 is not None  # just started, with its bridge
    urls = ", ".join(sc.cluster.rpc_url(i) for i in range(VALIDATORS))
    interval = sc.cluster.config.l1.checkpoint_interval
    return SandboxPart(
        objects={"sidechain": sc, "sidechain_w3": sc.w3, "sidechain_bridge": sc.bridge, "sidechain_l1": sc.l1,
                 "validators": sc.cluster, "sc_deposit": sc_deposit, "sc_pay": sc_pay, "sc_exit": sc_exit},
        services=[ClusterService(sc)],
        contracts=[f"stake manager {sc.l1.stake_manager.address} (StakeManager)",
                   f"deposits {sc.l1.deposit_manager.address} (DepositManager)"],
        banner=[f"  sidechain  {VALIDATORS} validator processes (chain id {sc.l1.sidechain_id}): {urls}",
                "             sidechain_w3 (web3 on validator 0), sidechain_bridge, sidechain_l1, validators; "
                f"checkpoints every {interval} blocks"],
        helpers=["sc_deposit(who, wei)", "sc_pay(payer, payee, wei)", "sc_exit(who, wei)"],
        columns=["sidechain"],
        cells=cells,
        status=sc.status,
        close=close,
    )
