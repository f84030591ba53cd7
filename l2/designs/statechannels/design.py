"""State channels as a `Design`: what the commands find in the registry (once it lists "statechannels")."""

from __future__ import annotations

from l2.designs.api import Design, EvmRequirement, Scenario
from l2.l1.deploy import ContractSpec


def _demo(story) -> int:
    from l2.designs.statechannels import demo

    return demo.run(story)


def _gas(chain) -> None:
    from l2.designs.statechannels.bench import measure_gas

    measure_gas(chain)  # the gas report groups the transactions this sends; the figures returned are for bench


def _scenarios() -> list[Scenario]:
    return [Scenario("statechannels", "every Adjudicator function: deposit, conclude, concludeAndTransfer, "
                     "challenge, respond, checkpoint, transfer, claimGuarantee; the happy and the disputed exit of a "
                     "rock-paper-scissors game and a virtual channel's exit with the hub and the payee silent",
                     _gas)]


def _sandbox(env):
    from l2.designs.statechannels.sandbox import part

    return part(env)


def _adapter(env):
    from l2.designs.statechannels.workload import StateChannelsWorkload

    return StateChannelsWorkload(env)


DESIGN = Design(
    name="statechannels",
    title="state channels",
    trust="nobody but the participants (a hub routing virtual channels can stall, not steal); each must watch "
          "Layer 1 (its watcher does) once per challenge duration",
    contracts=(
        ContractSpec("Adjudicator", description="state channels: holdings, challenges, force-moves, conclusions"),
        ContractSpec("RockPaperScissors", description="state-channel app: commit-reveal rock-paper-scissors"),
        ContractSpec("SingleDirectionPayment", description="state-channel app: payments one way"),
        ContractSpec("ConsensusApp", description="state-channel app of ledger channels: every state signed by all"),
    ),
    demo=_demo,
    scenarios=_scenarios,
    bench_module="l2.designs.statechannels.bench",
    sandbox=_sandbox,
    adapter=_adapter,
    evm=EvmRequirement("cancun", "EIP-1153 transient storage: the adjudicator's re-entrancy lock"),
)
