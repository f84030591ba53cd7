"""`l2 verify`: a separate process checks a rollup on a real node from Layer-1 data alone, proves fraud
when asked, and fails loudly (exit 1, one line) when a batch cannot be rebuilt - here because the node
it talks to lies about a batch transaction's input."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from l2.designs.optimistic.encoding import QueueCommitment, encode_batch
from l2.l1.compiler import PROJECT_ROOT
from l2.runtime.service import run_round

from .conftest import deploy_rollup


def _verify(*args: str):
    return subprocess.run([sys.executable, "-m", "l2", "verify", *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)


@pytest.fixture
def fresh(anvil_chain):
    """A rollup of its own on the session's anvil (reverted after the test): batch numbers start at 0."""
    return deploy_rollup(anvil_chain)


def _funded(env, sequencer):
    wallets = env.wallets(sequencer)
    for w in wallets:
        w.deposit(10**18)
    run_round([sequencer], urgent=True)
    return wallets


def test_verify_checks_every_batch_and_proves_fraud_only_when_asked(fresh, anvil_url, tmp_path):
    env = fresh
    seq = env.sequencer(tmp_path)
    alice, bob, _ = _funded(env, seq)
    alice.transfer(bob.address, 10**17)
    run_round([seq], urgent=True)
    ok = _verify("--rpc-url", anvil_url, "--rollup", env.client.address)
    assert ok.returncode == 0, ok.stderr
    assert "batch #0 (4 queue entries in 1 commitment) replayed from Layer-1 data: every root and signature checks" \
        in ok.stdout
    assert "batch #1 (1 transfer in 1 commitment) replayed" in ok.stdout

    seq.fault = "print_money"
    bob.transfer(alice.address, 10**16)
    run_round([seq], urgent=True)
    seq.close()
    unproven = _verify("--rpc-url", anvil_url, "--rollup", env.client.address)
    assert unproven.returncode == 1 and env.client.batch_count() == 3
    assert unproven.stderr.strip().splitlines() == [
        "error: batch #2 is fraudulent and was not proven: run with --challenge to prove it"]

    proven = _verify("--rpc-url", anvil_url, "--rollup", env.client.address, "--challenge")
    assert proven.returncode == 0, proven.stderr
    assert "batch #2 is fraudulent: commitment 0: the committed root is not the replayed one" in proven.stdout
    assert "proved it with the transition proof in one transaction" in proven.stdout
    assert env.client.batch_count() == 2 and env.client.bond(env.proposer.address) == 0


class _LyingNode(BaseHTTPRequestHandler):
    """JSON-RPC on 127.0.0.1 that forwards to anvil but serves every transaction with a decoy input."""

    upstream = ""
    decoy = b""

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if json.loads(body).get("method") == "eth_getTransactionByHash" and answer.get("result"):
            answer["result"]["input"] = "0x" + self.decoy.hex()
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def lying_node(anvil_url, fresh):
    _LyingNode.upstream = anvil_url
    decoy = encode_batch([QueueCommitment(b"\x11" * 32, 1, (True,))])  # a batch, but not the one posted
    _LyingNode.decoy = bytes.fromhex(fresh.client.contract.encode_abi(
        "submitBatch", args=[b"\0" * 32, b"\0" * 32, decoy])[2:])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_verify_fails_loudly_when_a_batch_cannot_be_rebuilt(fresh, lying_node, tmp_path):
    env = fresh
    seq = env.sequencer(tmp_path)
    _funded(env, seq)
    seq.close()
    result = _verify("--rpc-url", lying_node, "--rollup", env.client.address, "--rounds", "3", "--interval", "0")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: batch #0 (transaction 0x") and "is not the batch its event commits to" in line
    assert "every root" not in result.stdout


def test_verify_refuses_bad_arguments_in_one_line(anvil_url):
    bad = _verify("--rpc-url", anvil_url, "--rollup", "0x1234")
    assert bad.returncode == 1 and bad.stderr.strip() == "error: --rollup is not an address: '0x1234'"
    empty = _verify("--rpc-url", anvil_url, "--rollup", "0x" + "12" * 20)
    assert empty.returncode == 1 and "no contract at 0x" in empty.stderr
