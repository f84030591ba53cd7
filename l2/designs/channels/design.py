"""Payment channels as a `Design`: what the commands find in the registry."""

from __future__ import annotations

from l2.designs.api import Design, EvmRequirement, Scenario
from l2.l1.deploy import ContractSpec


def _demo(story) -> int:
    from l2.designs.channels import demo

    return demo.run(story)


def _scenarios() -> list[Scenario]:
    from l2.designs.channels.bench import measure_gas

    return [Scenario("channels", "every channel function: open (with and without deposit), deposit, withdraw, "
                     "cooperative close, close, updateState, settle, a deferred payout and its claim",
                     lambda chain: measure_gas(chain) and None)]


def _sandbox(env):
    from l2.designs.channels.sandbox import part

    return part(env)


def _adapter(env):
    from l2.designs.channels.workload import ChannelsWorkload

    return ChannelsWorkload(env)


DESIGN = Design(
    name="channels",
    title="payment channels",
    trust="nobody but the two parties; each must watch Layer 1 (or hire a watchtower) once per challenge period",
    contracts=(
        ContractSpec("ChannelRegistry", args=lambda ctx: (10, 2_592_000) if ctx.dev else (3_600, 2_592_000),
                     description="payment channels (challenge period 10 s / 1 h .. 30 days)"),
    ),
    demo=_demo,
    scenarios=_scenarios,
    bench_module="l2.designs.channels.bench",
    sandbox=_sandbox,
    adapter=_adapter,
    evm=EvmRequirement("cancun", "EIP-1153 transient storage: the registry's re-entrancy lock"),
)
