"""The zk-rollup as a `Design`: what the commands find in the registry (once it lists "zk")."""

from __future__ import annotations

from l2.designs.api import Design, Scenario
from l2.l1.deploy import ContractSpec


def _demo(story) -> int:
    from l2.designs.zk import demo

    return demo.run(story)


def _scenarios() -> list[Scenario]:
    from l2.designs.zk.scenarios import full_cycle

    return [Scenario("zk-rollup", "register, a proven batch with the registrations, a transfer and a withdrawal, "
                     "claim; a deposit left queued: exodus, exit by Merkle proof, refund", full_cycle)]


def _sandbox(env):
    from l2.designs.zk.sandbox import part

    return part(env)


def _adapter(env):
    from l2.designs.zk.workload import ZkWorkload

    return ZkWorkload(env)


def _verifier_args(ctx) -> tuple:
    from l2.designs.zk import circuit, l1
    from l2.designs.zk.node import deployed_shape

    return (l1.vk_args(circuit.prover_for(deployed_shape()).verifying_key()),)


def _missing() -> str | None:
    from l2.designs.zk.circuit import missing_tools

    return missing_tools()


def _address(ctx, name: str) -> str:
    """An earlier contract's address (these contracts come before ZkRollup in the plan)."""
    return ctx.address_of(name)


def _rollup_args(ctx) -> tuple:
    from l2.designs.zk import l1
    from l2.designs.zk.node import deployed_shape

    return l1.rollup_args(_address(ctx, "Groth16Verifier"), _address(ctx, "PoseidonT4"),
                          _address(ctx, "PoseidonT5"), ctx.chain.accounts[0].address, deployed_shape(),
                          l1.DEV_INCLUSION_WINDOW if ctx.dev else 7 * 86_400, l1.DEV_MIN_DEPOSIT)


DESIGN = Design(
    name="zk",
    title="zk-rollup",
    trust="nobody for safety if the setup was honest (here a DEV-ONLY single-party one); the operator for "
          "liveness until the inclusion window ends, then exodus; data availability on Layer 1",
    contracts=(
        ContractSpec("Groth16Verifier", args=_verifier_args,
                     description="Groth16 verifier of the zk-rollup's batch circuit (key from a DEV-ONLY setup)"),
        ContractSpec("PoseidonT4", description="Poseidon(3) on Layer 1, for exodus account leaves"),
        ContractSpec("PoseidonT5", description="Poseidon(4) on Layer 1, for exodus Merkle proofs (4-ary tree)"),
        ContractSpec("ZkRollup", args=_rollup_args,
                     description="zk-rollup: queue, proven batches, instant withdrawals, exodus (operator = deployer; "
                                 "inclusion window 10 min / 7 days)"),
    ),
    demo=_demo,
    scenarios=_scenarios,
    bench_module="l2.designs.zk.bench",
    sandbox=_sandbox,
    adapter=_adapter,
    missing=_missing,
)
