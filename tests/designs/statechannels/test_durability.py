"""A party killed mid-move (SIGKILL) and restarted loses nothing it vouched for: the payer runs in its own
process and talks over loopback TCP; whatever it sent is in its database; after the restart both sides
converge on the same newest state and go on."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from l2.designs.statechannels import errors as e
from l2.designs.statechannels.messages import Domain, decode_move
from l2.designs.statechannels.party import Party, setup
from l2.designs.statechannels.rules import FixedPart, Phase, RPSData
from l2.designs.statechannels.storage import StateStore
from l2.designs.statechannels.transport import Listener, dial
from l2.l1.compiler import PROJECT_ROOT

WORKER = Path(__file__).with_name("peer_worker.py")
KEY_A, KEY_B = bytes([0x31]) * 32, bytes([0x32]) * 32


def channel(tmp_path, app="payment"):
    fixed = FixedPart((Account.from_key(KEY_A).address, Account.from_key(KEY_B).address), 1,
                      Account.from_key(bytes([0x43]) * 32).address, 60)
    domain = Domain(31337, Account.from_key(bytes([0x42]) * 32).address)
    payer = Party(fixed, app, domain, KEY_A, store=StateStore(tmp_path / "payer.db"))
    payee = Party(fixed, app, domain, KEY_B, store=StateStore(tmp_path / "payee.db"))
    if app == "payment":
        setup([payer, payee], (10**6, 0))
    else:
        setup([payer, payee], (10**6, 10**6), RPSData(Phase.START, 10).encode())
    payer.store.close()  # the worker process owns it from now on
    return fixed, domain, payee


def start_worker(tmp_path, fixed, domain, port, moves, app="payment"):
    config = {"app": app, "key": KEY_A.hex(), "db": str(tmp_path / "payer.db"), "fixed": fixed.to_json(),
              "chainId": domain.chain_id, "adjudicator": domain.adjudicator, "port": port, "moves": moves}
    return subprocess.Popen([sys.executable, str(WORKER), json.dumps(config)], cwd=PROJECT_ROOT,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})


def serve(payee: Party, connection, moves: int, kill=None) -> list[dict]:
    """Take payments and acknowledge each; returns the payer's moves received."""
    received = []
    for _ in range(moves):
        try:
            message = connection.receive(timeout=10)
        except e.TransportError:
            break  # the payer was killed
        before = payee.turn_num
        payee.receive(message)
        received.append(message)
        if payee.turn_num == before:  # a move we had: the payer missed our answer
            answer = payee.resend()
        else:
            answer = payee.acknowledge() if payee.app == "payment" else payee.play()
        connection.send(answer)
        if kill is not None and kill(len(received)):
            return received
    return received


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_payer_killed_mid_move_restarts_with_every_state_it_sent(tmp_path, seed):
    fixed, domain, payee = channel(tmp_path)
    listener = Listener()
    rng = random.Random(seed)
    worker = start_worker(tmp_path, fixed, domain, listener.port, moves=400)
    try:
        connection = listener.accept(timeout=30)
        kill_at = rng.randint(5, 40)

        def kill(count):
            if count == kill_at:
                os.kill(worker.pid, signal.SIGKILL)  # right after our ack left: the payer is mid-move
                return True
            return False

        received = serve(payee, connection, 400, kill)
        worker.wait(timeout=10)
        assert worker.returncode == -signal.SIGKILL
        connection.close()
        # Every move the payer sent is on its disk, signature and all.
        restored = Party.restore(StateStore(tmp_path / "payer.db"), KEY_A)
        for message in received:
            _, state, signature = decode_move(message)
            assert restored.states[state.turn_num] == (state, signature)
        assert restored.turn_num >= payee.turn_num - 1  # it may not have stored our last ack: it resends
        restored.store.close()

        worker = start_worker(tmp_path, fixed, domain, listener.port, moves=20)
        connection = listener.accept(timeout=30)
        serve(payee, connection, 40)
        connection.close()
        worker.wait(timeout=20)
        assert worker.returncode == 0
        final = Party.restore(StateStore(tmp_path / "payer.db"), KEY_A)
        assert final.latest == payee.latest and final.latest.outcome[1] > kill_at
        assert sum(final.latest.outcome) == 10**6
        final.store.close()
        payee.store.close()
    finally:
        if worker.poll() is None:
            worker.kill()
        listener.close()


def test_a_game_between_two_processes_survives_a_kill_before_the_reveal(tmp_path):
    """Alice plays rock-paper-scissors from her own process; killed right after her commitment went out,
    she restarts and reveals the play her database kept (or the round would be lost by timeout)."""
    fixed, domain, bob = channel(tmp_path, "rps")
    listener = Listener()
    worker = start_worker(tmp_path, fixed, domain, listener.port, moves=400, app="rps")
    try:
        connection = listener.accept(timeout=30)

        def kill_after_fifth(count):  # her fifth move is a commitment (turn 10); bob has just played
            if count == 5:
                os.kill(worker.pid, signal.SIGKILL)
            return count == 5

        serve(bob, connection, 400, kill=kill_after_fifth)
        worker.wait(timeout=10)
        connection.close()
        worker = start_worker(tmp_path, fixed, domain, listener.port, moves=4, app="rps")
        connection = listener.accept(timeout=30)
        serve(bob, connection, 8)
        connection.close()
        worker.wait(timeout=20)
        assert worker.returncode == 0
        alice = Party.restore(StateStore(tmp_path / "payer.db"), KEY_A)
        assert alice.latest == bob.latest and bob.turn_num > 12 and sum(bob.latest.outcome) == 2 * 10**6
        reveals = [RPSData.decode(s.app_data) for t, (s, _) in bob.states.items() if t > 1]
        assert sum(d.phase == Phase.REVEAL for d in reveals) >= 3  # every round was revealed, the killed one too
        alice.store.close()
        bob.store.close()
    finally:
        if worker.poll() is None:
            worker.kill()
        listener.close()


def test_the_transport_bounds_what_a_peer_can_do(tmp_path):
    listener = Listener()
    try:
        client = dial(listener.port)
        server = listener.accept()
        with pytest.raises(e.TransportError, match="within"):
            server.receive(timeout=0.2)  # a silent peer costs a bounded wait
        client.sock.sendall(b"[1]\n")
        with pytest.raises(e.TransportError, match="not an object"):
            server.receive(timeout=2)
        client.sock.sendall(b"x" * 70_000)
        with pytest.raises(e.TransportError, match="without a message end"):
            server.receive(timeout=2)
        client.close()
    finally:
        listener.close()
    assert listener.sock.fileno() == -1


def test_a_database_answers_only_to_its_own_participant(tmp_path):
    fixed, domain, payee = channel(tmp_path)
    with pytest.raises(e.StateChannelStorageError, match="belongs to participant 0"):
        Party.restore(StateStore(tmp_path / "payer.db"), KEY_B)  # bob's key on alice's file
    assert Party.restore(StateStore(tmp_path / "payer.db"), KEY_A).me == 0  # and the file is unchanged
    with pytest.raises(e.StateChannelStorageError, match="holds no channel"):
        Party.restore(StateStore(tmp_path / "empty.db"), KEY_A)
    payee.store.close()
