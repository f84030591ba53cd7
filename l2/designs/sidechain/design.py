"""The sidechain as a `Design`: what the commands find in the registry (once it lists "sidechain")."""

from __future__ import annotations

from l2.designs.api import Design, EvmRequirement, Scenario
from l2.l1.deploy import ContractSpec


def _demo(story) -> int:
    from l2.designs.sidechain import demo

    return demo.run(story)


def _bridge_paths(chain) -> None:
    from l2.designs.sidechain.scenarios import bridge_paths

    bridge_paths(chain)  # the gas report groups the transactions it sends


def _scenarios() -> list[Scenario]:
    return [Scenario("sidechain-bridge", "four validators staked; an ETH deposit; a checkpoint signed by the smallest "
                     "quorum with two burns in its exit root, both exited; an equivocator slashed from two prevotes; "
                     "an unstake withdrawn after the unbonding delay", _bridge_paths)]


def _sandbox(env):
    from l2.designs.sidechain.sandbox import part

    return part(env)


def _adapter(env):
    from l2.designs.sidechain.workload import SidechainWorkload

    return SidechainWorkload(env)


def _stake_manager_args(ctx) -> tuple:
    from l2.designs.sidechain.session import stake_params

    return stake_params(ctx.dev).args()


def _deposit_manager_args(ctx) -> tuple:
    from l2.designs.sidechain.session import bridge_params

    return bridge_params(ctx.dev).args(ctx.address_of("StakeManager"))


DESIGN = Design(
    name="sidechain",
    title="sidechain",
    trust="validators holding more than 2/3 of the stake on Layer 1 (they can sign a false checkpoint and steal "
          "up to the outflow limit per checkpoint before the hold stops the rest); a third can halt it",
    contracts=(
        ContractSpec("StakeManager", args=_stake_manager_args,
                     description="sidechain: validator stakes by signer, checkpoints signed by >2/3 of the stake, "
                                 "slashing of equivocators (sidechain id 901; 2 / 12 Layer-1 confirmations)"),
        ContractSpec("DepositManager", args=_deposit_manager_args,
                     description="sidechain bridge: ETH locked as numbered state syncs, exits proven against a "
                                 "checkpoint's exit root, 100 ETH per checkpoint before exits are held"),
    ),
    demo=_demo,
    scenarios=_scenarios,
    bench_module="l2.designs.sidechain.bench",
    sandbox=_sandbox,
    adapter=_adapter,
    commands=(("sidechain", "l2.designs.sidechain.cli",
               "start sidechain validators (their own processes, 127.0.0.1) staked on Layer 1, until Ctrl-C"),),
    evm=EvmRequirement("cancun", "EIP-1153 transient storage: the re-entrancy guards of StakeManager and "
                                 "DepositManager"),
)
