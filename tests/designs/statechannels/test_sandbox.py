"""The state channels' part of a sandbox session: a game alice-bob, durable, watched; its helpers play and
conclude, its status line follows the game, and its watchers are services run_round drives."""

from __future__ import annotations

import threading

from rich.console import Console

from l2.designs.api import SandboxEnv
from l2.designs.statechannels.design import DESIGN
from l2.runtime.service import run_round


def test_the_sandbox_part_plays_and_concludes_a_game(chain, tmp_path):
    addresses = {name: chain.deploy(name).address
                 for name in ("Adjudicator", "RockPaperScissors", "SingleDirectionPayment", "ConsensusApp")}
    users = {"alice": chain.accounts[1], "bob": chain.accounts[2], "carol": chain.accounts[3]}
    env = SandboxEnv(chain, tmp_path, threading.RLock(), addresses, None, chain.accounts[0], chain.accounts[5],
                     users, 10**18, Console(file=None), step=lambda: None)
    part = DESIGN.sandbox(env)
    try:
        assert "game alice-bob: open on Layer 1, turn 1 (start)" in part.status()[0]
        assert part.objects["play"]("alice", 1) == "turn 2: commit"
        assert part.objects["play"]("bob", 2) == "turn 3: play, bob played paper"
        part.objects["play"]("alice")
        assert "alice 0.9000 ETH, bob 1.1000 ETH" in part.status()[0]
        assert run_round(part.services) == []  # nobody is silent yet, nothing challenged
        assert part.objects["pay_virtual"](10**17) == "alice has paid bob 0.1000 ETH through carol's hub"
        assert "virtual alice->bob via carol: paid 0.1000 ETH of 0.5000 ETH" in part.status()[1]
        assert part.objects["conclude"]().status == 1
        assert "final on Layer 1" in part.status()[0]
        assert part.cells("alice", users["alice"].address) == [""]
    finally:
        part.close()
    assert (tmp_path / "alice-statechannel.db").exists()
