"""The optimistic rollup as a `Design`: what the commands find in the registry."""

from __future__ import annotations

from l2.designs.api import Design, EvmRequirement, Scenario
from l2.designs.optimistic.encoding import DEFAULT_COMMITMENT_SIZE
from l2.l1.deploy import ContractSpec


def _demo(story) -> int:
    from l2.designs.optimistic import demo

    return demo.run(story)


def _scenarios() -> list[Scenario]:
    from l2.designs.optimistic.scenarios import bridge_paths, prove_every_fault

    return [
        Scenario("optimistic-faults", "each kind of fraud the sequencer can commit, proven in one transaction "
                 "(a wrong root, an overspend, a signature not its senders')", lambda chain: prove_every_fault(chain)
                 and None),
        Scenario("optimistic-bridge", "key registration, token deposits, a forced withdrawal and its claim, fees "
                 "withdrawn, the bond withdrawn", bridge_paths),
    ]


def _sandbox(env):
    from l2.designs.optimistic.sandbox import part

    return part(env)


def _adapter(env):
    from l2.designs.optimistic.workload import OptimisticWorkload

    return OptimisticWorkload(env)


def _operator_reserve(chain, addresses: dict[str, str]) -> int:
    """The sequencer's bond: kept by the deployer when named accounts are topped up from it."""
    return chain.contract("OptimisticRollup", addresses["OptimisticRollup"]).functions.minBond().call()


DESIGN = Design(
    name="optimistic",
    title="optimistic rollup",
    trust="one honest challenger online within every challenge window (10 min here, 7 days in production); "
          "the sequencer can delay, not steal",
    contracts=(
        ContractSpec("AggregateSignatures", description="optimistic rollup: BLS12-381 checks (proofs of possession, "
                     "aggregate signatures over EIP-2537), a contract of its own to keep the rollup under 24 kB"),
        ContractSpec("OptimisticRollup", args=lambda ctx: (
            ctx.chain.accounts[0].address, *((600, 1_200) if ctx.dev else (604_800, 86_400)), 10**18, 10**15, 20,
            DEFAULT_COMMITMENT_SIZE, ctx.address_of("AggregateSignatures")),
            description="optimistic rollup: bridge, BLS-signed 8-byte transfers in commitments of up to 128, two "
                        "one-transaction fraud proofs (sequencer = deployer; challenge 10 min / 7 days, inclusion "
                        "20 min / 1 day, bond 1 ETH, smallest deposit 0.001 ETH, 2^20 accounts)"),
    ),
    demo=_demo,
    scenarios=_scenarios,
    bench_module="l2.designs.optimistic.bench",
    sandbox=_sandbox,
    adapter=_adapter,
    evm=EvmRequirement("prague", "EIP-2537 BLS12-381 precompiles"),
    operator_reserve=_operator_reserve,
    commands=(("verify", "l2.designs.optimistic.cli",
               "check a deployed optimistic rollup from Layer-1 data alone (and prove fraud with --challenge)"),),
)
