"""State-channel benchmarks: off-chain moves per second (in memory and durable) and the Adjudicator's gas.

A move is one participant's whole step: it builds the next rock-paper-scissors state with the app's rule,
checks it (`rules.check_transition`), signs it (EIP-712) and, durable, commits it to SQLite before sending;
the other decodes it, checks every rule and the mover's signature, and, durable, commits it before
answering. One core, both parties in one process, JSON-ready messages.

Gas: every Adjudicator function, and the two exits Nitro reports (`go-nitro gas-benchmarks`, anchors.md):
the happy exit (`concludeAndTransfer`, one transaction) and the disputed one (`challenge`, the timeout,
`transfer`), and a virtual channel's disputed exit (`_virtual_dispute_gas`). Measured on the embedded chain
(Prague); two participants, ETH, rock-paper-scissors states.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from eth_account import Account

from l2.designs.api import Metric, benchmark, beside_commit_metrics
from l2.designs.statechannels.messages import Domain
from l2.designs.statechannels.party import Party, conclude_together, connect, deliver, setup
from l2.designs.statechannels.rules import FixedPart, Phase, RPSData
from l2.designs.statechannels.storage import StateStore

ETHER = 10**18
DURATION = 3600


def _pair(store_dir: Path | None = None) -> tuple[Party, Party]:
    key_a, key_b = bytes([0x51]) * 32, bytes([0x52]) * 32
    fixed = FixedPart((Account.from_key(key_a).address, Account.from_key(key_b).address), 1,
                      Account.from_key(bytes([0x53]) * 32).address, DURATION)
    domain = Domain(31337, Account.from_key(bytes([0x54]) * 32).address)
    stores = (None, None) if store_dir is None else (StateStore(store_dir / "a.db"), StateStore(store_dir / "b.db"))
    rng = random.Random(7)
    parties = (Party(fixed, "rps", domain, key_a, store=stores[0], rng=rng),
               Party(fixed, "rps", domain, key_b, store=stores[1], rng=rng))
    setup(list(parties), (10**6 * ETHER, 10**6 * ETHER), RPSData(Phase.START, ETHER).encode())
    return parties


def moves_per_second(count: int, store_dir: Path | None = None) -> float:
    """Moves a second, rounds of rock-paper-scissors (4 moves each) with every check a real party makes."""
    pa, pb = _pair(store_dir)
    start = time.perf_counter()
    for i in range(count):
        mover, other = (pa, pb) if i % 2 == 0 else (pb, pa)
        deliver(mover.play(), other)
    elapsed = time.perf_counter() - start
    for party in (pa, pb):
        if party.store is not None:
            party.store.close()
    return count / elapsed


@benchmark(
    metrics=[
        Metric("statechannels.moves_per_s", unit="moves/s", target=2000, better="higher",
               reference="each move: app rule, EIP-712 signature, the receiver's every check and recovery"),
        Metric("statechannels.moves_per_s_durable", unit="moves/s", better="higher",
               reference="as above, and two fsynced SQLite commits per move (mover's and receiver's)"),
        *beside_commit_metrics("statechannels", "moves", 0.5),  # two commits a move: the disk is the cap
    ]
)
def bench_moves(ctx) -> dict[str, float]:
    count = 1_000 if ctx.quick else 8_000
    with tempfile.TemporaryDirectory(prefix="l2-statechannels-bench-") as tmp:
        durable, beside = ctx.durable_beside("statechannels", Path(tmp),
                                             lambda: moves_per_second(count // 4, Path(tmp)))
    return {"statechannels.moves_per_s": moves_per_second(count), "statechannels.moves_per_s_durable": durable,
            **beside}


_nonce = iter(range(1, 10**9))


def _funded(chain, adjudicator, app, alice, bob, stake=ETHER // 10):
    fixed = FixedPart((alice.address, bob.address), next(_nonce), app.address, DURATION)
    pa = connect(chain, adjudicator, fixed, "rps", alice, rng=random.Random(1))
    pb = connect(chain, adjudicator, fixed, "rps", bob, rng=random.Random(2))
    setup([pa, pb], (ETHER, ETHER), RPSData(Phase.START, stake).encode())
    r_first = pa.deposit(ETHER, 0)
    r_second = pb.deposit(ETHER, ETHER)
    return pa, pb, r_first, r_second


def measure_gas(chain) -> dict[str, float]:
    """Gas of every Adjudicator function and of the happy and disputed exits, on fresh contracts."""
    adjudicator = chain.deploy("Adjudicator")
    app = chain.deploy("RockPaperScissors")
    alice, bob = chain.accounts[1], chain.accounts[2]
    gas: dict[str, float] = {"statechannels.gas.deploy": adjudicator.deploy_receipt.gasUsed}

    # Happy: a round played off-chain, then one concludeAndTransfer.
    pa, pb, r_first, r_second = _funded(chain, adjudicator, app, alice, bob)
    gas["statechannels.gas.deposit"] = r_first.gasUsed  # into an empty channel, as Nitro's figure
    gas["statechannels.gas.deposit_second"] = r_second.gasUsed
    for mover, other in ((pa, pb), (pb, pa), (pa, pb), (pb, pa)):
        deliver(mover.play(), other)
    conclude_together([pa, pb])
    gas["statechannels.gas.exit_happy"] = pa.conclude().gasUsed

    # conclude alone, then transfer.
    pa, pb, _, _ = _funded(chain, adjudicator, app, alice, bob)
    conclude_together([pa, pb])
    gas["statechannels.gas.conclude"] = pa.conclude(transfer=False).gasUsed
    gas["statechannels.gas.transfer_after_conclude"] = pa.transfer(pa.final[0], pa.final[0].outcome).gasUsed

    # Disputed: alice commits, bob plays, alice goes silent; bob challenges, waits, pays out.
    pa, pb, _, _ = _funded(chain, adjudicator, app, alice, bob)
    deliver(pa.play(), pb)
    deliver(pb.play(), pa)
    r_challenge = pb.challenge()
    chain.advance_time(DURATION)
    onchain = pb.onchain()
    r_transfer = pb.transfer(onchain.recorded, onchain.owed)
    gas["statechannels.gas.challenge"] = r_challenge.gasUsed
    gas["statechannels.gas.transfer"] = r_transfer.gasUsed
    gas["statechannels.gas.exit_disputed"] = r_challenge.gasUsed + r_transfer.gasUsed

    # A challenge answered: with the next move (respond), and with a newer state (checkpoint).
    pa, pb, _, _ = _funded(chain, adjudicator, app, alice, bob)
    deliver(pa.play(), pb)
    pa.challenge()
    challenged = pb.latest
    move = pb.next_move()
    gas["statechannels.gas.respond"] = pb.respond(challenged, move).gasUsed
    deliver(pb.resend(), pa)
    deliver(pa.play(), pb)
    gas["statechannels.gas.checkpoint"] = pb.checkpoint().gasUsed
    gas.update(_virtual_dispute_gas(chain, adjudicator, alice, bob, chain.accounts[3]))
    return gas


def _virtual_dispute_gas(chain, adjudicator, alice, bob, hub) -> dict[str, float]:
    """Alice leaves a virtual channel alone, the hub and Bob both silent: she challenges V with her newest
    state and her ledger with the hub with its newest (holding V's guarantee), waits, is paid her ledger
    share (`transfer`) and V's amount for her from the guarantee (`claimGuarantee`)."""
    from l2.designs.statechannels.virtual import Hub, fund_virtual, open_ledger

    ledger_app = chain.deploy("ConsensusApp")
    payment_app = chain.deploy("SingleDirectionPayment")
    a_end, hub_a = open_ledger(chain, adjudicator, ledger_app, alice, hub, (ETHER, ETHER), next(_nonce), DURATION)
    hub_b, b_end = open_ledger(chain, adjudicator, ledger_app, hub, bob, (ETHER, ETHER), next(_nonce), DURATION)
    fixed = FixedPart((alice.address, bob.address), next(_nonce), payment_app.address, DURATION)
    va = connect(chain, adjudicator, fixed, "payment", alice)
    vb = connect(chain, adjudicator, fixed, "payment", bob)
    setup([va, vb], (ETHER // 2, 0))
    hub = Hub(hub_a, hub_b, payment_app=payment_app.address, max_challenge_duration=DURATION)
    fund_virtual(a_end, hub, b_end, va, vb)
    for _ in range(3):
        deliver(va.pay(10**16), vb)
        deliver(vb.acknowledge(), va)
    steps = [va.challenge(), a_end.challenge()]
    chain.advance_time(DURATION)
    recorded = va.onchain().recorded
    assert recorded is not None  # final on alice's challenge, which its event carries
    steps += [a_end.transfer(), a_end.claim(va, recorded)]
    return {"statechannels.gas.claim_guarantee": steps[-1].gasUsed,
            "statechannels.gas.virtual_dispute": sum(r.gasUsed for r in steps)}


@benchmark(
    metrics=[
        Metric("statechannels.gas.deposit", unit="gas", better="lower",
               reference="Nitro deposit 46,496 (anchors.md); here the first deposit into a channel"),
        Metric("statechannels.gas.conclude", unit="gas", better="lower",
               reference="Nitro concludes and transfers in one call (exit_happy)"),
        Metric("statechannels.gas.challenge", unit="gas", better="lower", reference="Nitro challenge 113,146"),
        Metric("statechannels.gas.respond", unit="gas", better="lower", reference="Nitro respond 96,482"),
        Metric("statechannels.gas.checkpoint", unit="gas", better="lower", reference="Nitro checkpoint 73,936"),
        Metric("statechannels.gas.exit_happy", unit="gas", target=111_514, better="lower",
               reference="Nitro concludeAndTransferAllAssets 111,514"),
        Metric("statechannels.gas.exit_disputed", unit="gas", target=195_172, better="lower",
               reference="Nitro challenge + transfer 195,172"),
        Metric("statechannels.gas.virtual_dispute", unit="gas", target=470_520, better="lower",
               reference="Nitro virtual-funded dispute 470,520; here challenge V and the ledger, transfer, claim"),
    ]
)
def bench_gas(ctx) -> dict[str, float]:
    return measure_gas(ctx.chain())
