"""A party killed mid-stream (SIGKILL) restarts from its database and still closes or disputes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from eth_account import Account

from l2.designs.channels import rules
from l2.designs.channels.messages import ChannelDomain
from l2.designs.channels.party import Party
from l2.designs.channels.rules import ZERO_ADDRESS, ChannelParams, Funding
from l2.designs.channels.storage import ChannelStore

PERIOD = 100
WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).resolve().parents[3]


def test_party_killed_mid_stream_restarts_from_disk_and_settles(chain, registry, alice, bob, open_channel, tmp_path):
    party_a, party_b = open_channel(chain, registry, alice, bob)
    db_a, db_b = tmp_path / "alice.db", tmp_path / "bob.db"
    config = {
        "params": party_a.params.to_json(),
        "chain_id": chain.chain_id,
        "registry": registry.address,
        "funding": vars(party_a.funding),
        "key_a": bytes(alice.key).hex(),
        "key_b": bytes(bob.key).hex(),
        "db_a": str(db_a),
        "db_b": str(db_b),
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(config)], stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True
    )
    try:
        acknowledged = 0
        for line in worker.stdout:  # let it run for a while, then kill it without warning
            acknowledged = int(line)
            if acknowledged >= 150:
                break
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    assert acknowledged >= 150

    restored_a = Party.restore(chain, registry, alice, ChannelStore(db_a))
    restored_b = Party.restore(chain, registry, bob, ChannelStore(db_b))
    # Nothing signed is lost: the receiver committed every state before acknowledging it; the
    # payer may lack only the last ack (written lazily) but then holds that proposal as pending.
    assert max(restored_a.nonce, restored_b.nonce) >= acknowledged
    assert abs(restored_a.nonce - restored_b.nonce) <= 1
    behind, ahead = sorted((restored_a, restored_b), key=lambda p: p.nonce)
    if behind.nonce < ahead.nonce:
        assert behind.pending is not None and behind.pending.proof == ahead.latest.proof
    assert restored_a.latest.complete and restored_b.latest.complete
    newest = max(restored_a.latest, restored_b.latest, key=lambda s: s.proof.nonce)

    # Alice closes with what her disk says; if Bob's disk is newer, he disputes with it.
    restored_a.close()
    if restored_b.nonce > restored_a.nonce:
        restored_b.update_state()
    chain.advance_time(PERIOD)
    receipt = restored_b.settle()
    (settled,) = chain.events(receipt, registry, "ChannelSettled")
    assert (settled.payoutA, settled.payoutB) == rules.settlement(restored_a.funding, newest.proof)
    assert chain.balance(registry.address) == 0


def test_crash_between_ack_and_its_write_is_healed_by_redelivery(tmp_path):
    key_a, key_b = bytes([1]) * 32, bytes([2]) * 32
    params = ChannelParams(Account.from_key(key_a).address, Account.from_key(key_b).address, ZERO_ADDRESS, PERIOD, 1)
    domain = ChannelDomain(31337, "0x" + "42" * 20)
    funding = Funding(100, 100)
    party_a = Party(params, domain, key_a, store=ChannelStore(tmp_path / "a.db"), funding=funding)
    party_b = Party(params, domain, key_b, store=ChannelStore(tmp_path / "b.db"), funding=funding)
    party_a.receive_ack(party_b.receive(party_a.pay(10)))
    party_a.receive_ack(party_b.receive(party_a.pay(5)))  # this ack is only in memory when A "crashes"

    store = ChannelStore(tmp_path / "a.db")
    restarted = Party(params, domain, key_a, store=store, funding=funding,
                      latest=store.latest_complete(params.channel_id))
    restarted.pending = store.proof_at(params.channel_id, restarted.nonce + 1)
    assert restarted.nonce == 1 and restarted.pending.proof.nonce == 2  # nothing signed was lost
    restarted.receive_ack(party_b.receive(restarted.resend_pending()))
    assert restarted.latest == party_b.latest and restarted.balance() == 85
    restarted.receive_ack(party_b.receive(restarted.pay(1)))  # and the channel goes on
    assert ChannelStore(tmp_path / "a.db").latest_complete(params.channel_id).proof.nonce == 2
