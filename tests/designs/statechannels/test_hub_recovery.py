"""A hub that crashes while it guarantees a virtual channel still gets its guarantee back: the setup it
checked is in its L_B ledger file before it signs any guarantee, and `Hub.restore` brings it back, so the
rebuilt hub can still challenge the channel as its guarantor when Alice and Bob both go silent. A setup the
hub refuses is never stored. Played in process (the Hub object dropped and rebuilt from its files) and
across processes (a hub worker killed with SIGKILL, over anvil)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from l2.core.crypto import Signer
from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.guarantor import GuarantorWatcher
from l2.designs.statechannels.party import Party, connect, deliver, setup
from l2.designs.statechannels.rules import (
    FixedPart,
    VariablePart,
    decode_guarantees,
    encode_guarantees,
    fund_guarantee,
)
from l2.designs.statechannels.storage import StateStore
from l2.designs.statechannels.virtual import Hub, Ledger, close_virtual, fund_virtual, guarantees_for, open_ledger
from l2.l1.compiler import PROJECT_ROOT

from .conftest import DURATION, ETHER

X = ETHER // 2  # what alice puts into the virtual channel
PAID = 10**17  # what she pays bob in it before both go silent
WORKER = Path(__file__).with_name("hub_worker.py")
_nonces = itertools.count(30_000)


class Crash(BaseException):
    """Stands for the process dying at this point."""


def hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path) -> tuple[Ledger, Hub, Ledger]:
    """Funded ledgers alice-hub and hub-bob (1 ETH each side); the hub's ends keep their states on disk."""
    adj, app = contracts["adjudicator"], contracts["ledger"]
    a_end, hub_a = open_ledger(chain, adj, app, alice, hub_account, (ETHER, ETHER), next(_nonces), DURATION,
                               stores=(None, StateStore(tmp_path / "hub_a.db")))
    hub_b, b_end = open_ledger(chain, adj, app, hub_account, bob, (ETHER, ETHER), next(_nonces), DURATION,
                               stores=(StateStore(tmp_path / "hub_b.db"), None))
    return a_end, Hub(hub_a, hub_b, payment_app=contracts["payment"].address, max_challenge_duration=DURATION), b_end


def rebuilt_hub(chain, contracts, hub_account, tmp_path) -> Hub:
    return Hub.restore(StateStore(tmp_path / "hub_a.db"), StateStore(tmp_path / "hub_b.db"), chain,
                       contracts["adjudicator"], hub_account, payment_app=contracts["payment"].address,
                       max_challenge_duration=DURATION)


def virtual_channel(chain, contracts, payer, payee, outcome=(X, 0), app: str = "payment",
                    duration: int = DURATION) -> tuple[Party, Party]:
    fixed = FixedPart((payer.address, payee.address), next(_nonces), contracts[app].address, duration)
    ends = [connect(chain, contracts["adjudicator"], fixed, "payment", who) for who in (payer, payee)]
    setup(ends, outcome)
    return ends[0], ends[1]


def setup_proof(party: Party) -> list[tuple[VariablePart, bytes]]:
    return [party.states[t] for t in range(party.fixed.n)]


def guarantees(ledger: Ledger, channel_id: bytes) -> bool:
    app_data = ledger.latest.app_data
    return bool(app_data) and any(g.target == channel_id for g in decode_guarantees(app_data))


def finish_funding(hub: Hub, a_end: Ledger, b_end: Ledger, va: Party, vb: Party) -> None:
    """What Alice, Bob and a rebuilt hub do to complete a funding the hub's crash cut short: Alice sends
    her L_A update (again), the hub answers (again), the hub proposes its L_B update (again), Bob signs."""
    g_a, g_b = guarantees_for(va.fixed, X, a_end.fixed, b_end.fixed)
    if not guarantees(a_end, va.channel_id):
        expected = fund_guarantee(a_end.latest, g_a)
        a_end.take(hub.countersign_guarantee(a_end.propose(expected), va.channel_id))
    if not guarantees(b_end, va.channel_id):
        expected = fund_guarantee(b_end.latest, g_b)
        hub.with_bob.take(b_end.countersign(hub.propose_guarantee(va.channel_id), expected))
    assert hub.with_alice.latest == a_end.latest and hub.with_bob.latest == b_end.latest
    va.funded_by_guarantees = vb.funded_by_guarantees = True


def balances(chain, *accounts) -> list[int]:
    return [chain.balance(a.address) for a in accounts]


def the_hub_recovers_its_guarantee_alone(chain, hub: Hub, va: Party, vb: Party, alice, bob, hub_account) -> None:
    """Alice pays Bob in V, then both go silent. The hub challenges V with the setup it kept (it holds
    nothing else of V) and both ledgers, and once all are final pays out and claims both guarantees.
    V ends as it was set up, so each guarantee goes back where it came from; every wei the two ledgers
    held is paid out, to alice, bob or the hub."""
    deliver(va.pay(PAID), vb)  # V is usable: both guarantees are signed
    deliver(vb.acknowledge(), va)
    assert vb.latest.outcome == (X - PAID, PAID)
    before = balances(chain, alice, bob, hub_account)
    with chain.record() as txs:
        hub.challenge_virtual(va.channel_id)
        hub.with_alice.challenge()
        hub.with_bob.challenge()
        chain.advance_time(DURATION)
        virtual, proof = hub.virtual[va.channel_id]
        for end in (hub.with_alice, hub.with_bob):
            end.transfer()
            end.claim(virtual, proof[-1][0])  # unanswered: V is final on the state the hub challenged with
    assert va.onchain().recorded == proof[-1][0] == VariablePart((X, 0), b"", 1)
    assert {t.sender for t in txs} == {hub_account.address}
    fees = sum(t.fee_wei for t in txs)
    gained = [after - was for after, was in zip(balances(chain, alice, bob, hub_account), before, strict=True)]
    assert gained == [ETHER, ETHER, 2 * ETHER - fees]  # alice's guarantee back, the hub's guarantee back
    assert hub.with_alice.held() == hub.with_bob.held() == 0  # funds conserved: 4 ETHER in, 4 ETHER out


@pytest.mark.parametrize("crash_after", ["the setup is checked", "both guarantees are signed"])
def test_a_hub_rebuilt_from_its_files_challenges_the_virtual_channel_and_gets_its_guarantee_back(
        chain, contracts, alice, bob, hub_account, tmp_path, crash_after):
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, vb = virtual_channel(chain, contracts, alice, bob)
    if crash_after == "the setup is checked":
        hub.check_setup(va.fixed, setup_proof(va), X)
    else:
        fund_virtual(a_end, hub, b_end, va, vb)
    kept = dict(hub.virtual)
    del hub  # the hub's process dies: its two files are all that is left of it
    hub = rebuilt_hub(chain, contracts, hub_account, tmp_path)
    assert hub.virtual == kept == {va.channel_id: (va.fixed, setup_proof(va))}
    finish_funding(hub, a_end, b_end, va, vb)
    the_hub_recovers_its_guarantee_alone(chain, hub, va, vb, alice, bob, hub_account)


@pytest.mark.parametrize("forgery", ["turn 1 signed by someone else", "another channel's states", "a wrong amount",
                                     "the payee paid at setup", "a channel between strangers",
                                     "another app (rock-paper-scissors)", "a challenge duration past the hub's bound"])
def test_a_forged_setup_is_refused_and_not_stored(chain, contracts, alice, bob, mallory, hub_account, tmp_path,
                                                  forgery):
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, _ = virtual_channel(chain, contracts, alice, bob)
    fixed, proof, amount, refusal = va.fixed, setup_proof(va), X, e.LedgerUpdateRefused
    if forgery == "turn 1 signed by someone else":
        proof[1] = (proof[1][0], m.sign_state(Signer(bytes(mallory.key)), va.domain, va.channel_id, proof[1][0]))
        refusal = e.NotMover
    elif forgery == "another channel's states":  # the same participants and outcome, another channel nonce
        proof, refusal = setup_proof(virtual_channel(chain, contracts, alice, bob)[0]), e.NotMover
    elif forgery == "a wrong amount":
        amount = X + 1
    elif forgery == "the payee paid at setup":
        other, _ = virtual_channel(chain, contracts, alice, bob, outcome=(X - 1, 1))
        fixed, proof = other.fixed, setup_proof(other)
    elif forgery == "a channel between strangers":  # mallory set it up with alice: no ledger of the hub pays her
        other, _ = virtual_channel(chain, contracts, alice, mallory)
        fixed, proof = other.fixed, setup_proof(other)
    elif forgery == "another app (rock-paper-scissors)":  # its moves are not the payment rule's: any could pass
        other, _ = virtual_channel(chain, contracts, alice, bob, app="rps")
        fixed, proof = other.fixed, setup_proof(other)
    else:  # a challenge of it would lock the hub's guarantee longer than the hub accepts
        other, _ = virtual_channel(chain, contracts, alice, bob, duration=DURATION + 1)
        fixed, proof = other.fixed, setup_proof(other)
    with pytest.raises(refusal, match=None if refusal is not e.LedgerUpdateRefused else {
            "a wrong amount": "is not", "the payee paid at setup": "is not", "a channel between strangers": "between",
            "another app (rock-paper-scissors)": "runs app",
            "a challenge duration past the hub's bound": "none longer than"}[forgery]):
        hub.check_setup(fixed, proof, amount)
    assert hub.virtual == {} and hub.with_bob.store.load_virtual_setups() == []
    g_a = guarantees_for(fixed, amount)[0]
    with pytest.raises(e.NothingToDo):  # and the hub signs no guarantee for it
        hub.countersign_guarantee(a_end.propose(fund_guarantee(a_end.latest, g_a)), fixed.channel_id)
    with pytest.raises(e.NothingToDo):
        hub.propose_guarantee(fixed.channel_id)
    assert rebuilt_hub(chain, contracts, hub_account, tmp_path).virtual == {}


def test_a_second_setup_for_a_guaranteed_channel_is_refused_and_the_first_kept(chain, contracts, alice, bob,
                                                                               hub_account, tmp_path):
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, vb = virtual_channel(chain, contracts, alice, bob)
    fund_virtual(a_end, hub, b_end, va, vb)
    hub.check_setup(va.fixed, setup_proof(va), X)  # the same setup again (resent after a restart): accepted
    # Alice and Bob sign another setup of the same channel: the guarantees were signed against the first.
    other = [VariablePart((2 * X, 0), b"", t) for t in (0, 1)]
    signed = [(s, m.sign_state(Signer(bytes(who.key)), va.domain, va.channel_id, s))
              for s, who in zip(other, (alice, bob), strict=True)]
    with pytest.raises(e.LedgerUpdateRefused, match="already set up"):
        hub.check_setup(va.fixed, signed, 2 * X)
    assert hub.with_bob.store.load_virtual_setups() == [(va.fixed, setup_proof(va))]
    with pytest.raises(e.StateChannelStorageError, match="already holds a setup"):  # the file refuses it too
        hub.with_bob.store.save_virtual_setup(va.fixed, signed)


def test_a_released_channel_is_kept_marked_released_and_never_funded_again(chain, contracts, alice, bob,
                                                                         hub_account, tmp_path):
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, vb = virtual_channel(chain, contracts, alice, bob)
    fund_virtual(a_end, hub, b_end, va, vb)
    deliver(va.pay(PAID), vb)
    deliver(vb.acknowledge(), va)
    close_virtual(a_end, hub, b_end, va, vb)
    assert a_end.latest.app_data == b_end.latest.app_data == encode_guarantees(())  # both guarantees released
    del hub
    hub = rebuilt_hub(chain, contracts, hub_account, tmp_path)
    final, sigs = va.final
    # History kept: the setup, the final state both signed (checked before the release), and the mark.
    assert hub.virtual == {va.channel_id: (va.fixed, setup_proof(va))}
    assert hub.proofs == {va.channel_id: [(final, [sigs[0], sigs[1]])]} and list(hub.released) == [va.channel_id]
    with pytest.raises(e.ChannelReleased):
        hub.check_setup(va.fixed, setup_proof(va), X)
    g_a, g_b = guarantees_for(va.fixed, X, a_end.fixed, b_end.fixed)
    with pytest.raises(e.ChannelReleased):  # alice's L_A update funding it again
        hub.countersign_guarantee(a_end.propose(fund_guarantee(a_end.latest, g_a)), va.channel_id)
    with pytest.raises(e.ChannelReleased):
        hub.propose_guarantee(va.channel_id)
    assert hub.with_alice.latest.app_data == hub.with_bob.latest.app_data == encode_guarantees(())
    assert hub.with_bob.proposal is None
    # Nothing of the hub's depends on V any more: its guarantor watcher leaves V alone, even with both ledgers
    # closing.
    hub.with_alice.challenge()
    hub.with_bob.challenge()
    assert GuarantorWatcher(hub, patience=0).step() == []
    assert va.onchain().finalizes_at == 0


def test_a_setup_the_hub_could_not_store_is_never_acted_on(chain, contracts, alice, bob, hub_account, tmp_path,
                                                           monkeypatch):
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, vb = virtual_channel(chain, contracts, alice, bob)

    def crash(*args):
        raise Crash()

    monkeypatch.setattr(hub.with_bob.store, "save_virtual_setup", crash)
    with pytest.raises(Crash):
        fund_virtual(a_end, hub, b_end, va, vb)
    assert hub.virtual == {}
    g_a = guarantees_for(va.fixed, X, a_end.fixed, b_end.fixed)[0]
    with pytest.raises(e.NothingToDo):
        hub.countersign_guarantee(a_end.propose(fund_guarantee(a_end.latest, g_a)), va.channel_id)
    assert hub.with_alice.latest.app_data == b"" and hub.with_bob.latest.app_data == b""  # nothing guaranteed


def test_a_setup_altered_in_the_file_is_refused_on_restore(chain, contracts, alice, bob, mallory, hub_account,
                                                           tmp_path):
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    va, vb = virtual_channel(chain, contracts, alice, bob)
    fund_virtual(a_end, hub, b_end, va, vb)
    forged = m.sign_state(Signer(bytes(mallory.key)), va.domain, va.channel_id, va.states[1][0])
    proof = [va.states[0], (va.states[1][0], forged)]
    rows = [{"state": state.to_json(), "signature": "0x" + sig.hex()} for state, sig in proof]
    hub.with_bob.store.db.execute("UPDATE virtual_setups SET proof = ?", (json.dumps(rows),))
    with pytest.raises(e.StateChannelStorageError, match="does not check"):
        rebuilt_hub(chain, contracts, hub_account, tmp_path)


# --- a real crash: the hub in its own process, killed with SIGKILL ---------------------------------------

class HubProcess:
    def __init__(self, chain, contracts, hub_account, tmp_path):
        config = {"url": chain.url, "adjudicator": contracts["adjudicator"].address,
                  "payment": contracts["payment"].address, "maxDuration": DURATION,
                  "key": bytes(hub_account.key).hex(), "dbA": str(tmp_path / "hub_a.db"),
                  "dbB": str(tmp_path / "hub_b.db")}
        self.process = subprocess.Popen([sys.executable, str(WORKER), json.dumps(config)], cwd=PROJECT_ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
        assert self.read() == {"ready": True}

    def read(self) -> dict:
        line = self.process.stdout.readline()
        assert line, f"the hub worker exited ({self.process.poll()})"
        return json.loads(line)

    def ask(self, do: str, channel_id: bytes, **request) -> dict:
        self.process.stdin.write(json.dumps({"do": do, "channelId": "0x" + channel_id.hex(), **request}) + "\n")
        self.process.stdin.flush()
        return self.read()


def setup_request(va: Party, proof: list[tuple[VariablePart, bytes]]) -> dict:
    return {"fixed": va.fixed.to_json(), "amount": str(X),
            "proof": [m.encode_move(va.channel_id, state, sig) for state, sig in proof]}


@pytest.mark.parametrize("kill_after", ["the setup is checked", "L_A is countersigned (the answer is lost)",
                                        "L_B is proposed (the answer is lost)", "L_B is signed by both"])
def test_a_hub_killed_with_sigkill_while_funding_recovers_its_guarantee(anvil_chain, anvil_contracts, mallory,
                                                                       tmp_path, kill_after):
    chain, contracts = anvil_chain, anvil_contracts
    alice, bob, hub_account = chain.accounts[1], chain.accounts[2], chain.accounts[4]
    a_end, hub, b_end = hub_ledgers(chain, contracts, alice, bob, hub_account, tmp_path)
    hub.with_alice.store.close()
    hub.with_bob.store.close()
    del hub  # the worker process owns the files from now on
    va, vb = virtual_channel(chain, contracts, alice, bob)
    g_a, g_b = guarantees_for(va.fixed, X, a_end.fixed, b_end.fixed)
    worker = HubProcess(chain, contracts, hub_account, tmp_path)
    try:
        forged = setup_proof(va)
        forged[1] = (forged[1][0], m.sign_state(Signer(bytes(mallory.key)), va.domain, va.channel_id, forged[1][0]))
        assert worker.ask("setup", va.channel_id, **setup_request(va, forged)) == {"error": "NotMover"}
        assert worker.ask("setup", va.channel_id, **setup_request(va, setup_proof(va))) == \
            {"checked": "0x" + va.channel_id.hex()}
        if kill_after != "the setup is checked":
            answer = worker.ask("countersign", va.channel_id, move=a_end.propose(fund_guarantee(a_end.latest, g_a)))
            if kill_after != "L_A is countersigned (the answer is lost)":
                a_end.take(answer)
                proposal = worker.ask("propose", va.channel_id)
                if kill_after != "L_B is proposed (the answer is lost)":
                    signed = b_end.countersign(proposal, fund_guarantee(b_end.latest, g_b))
                    assert worker.ask("take", va.channel_id, move=signed) == {"funded": "0x" + va.channel_id.hex()}
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait(timeout=10)
    finally:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(timeout=10)
    assert worker.process.returncode == -signal.SIGKILL

    hub = rebuilt_hub(chain, contracts, hub_account, tmp_path)
    assert hub.virtual == {va.channel_id: (va.fixed, setup_proof(va))}  # the forged setup left no trace
    finish_funding(hub, a_end, b_end, va, vb)
    the_hub_recovers_its_guarantee_alone(chain, hub, va, vb, alice, bob, hub_account)
    hub.with_alice.store.close()
    hub.with_bob.store.close()
