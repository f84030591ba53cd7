"""From a validator's evidence table to Layer 1: a validator in this process receives two different prevotes
of one peer for the same round, records them, and the reporter service gets that peer slashed with them as
they arrived; a second report of the same fault is passed, and a cluster signing under another domain than
the StakeManager's is refused before anything is sent."""

from __future__ import annotations

import io

import pytest

from l2.core.crypto import keccak
from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.config import ClusterConfig, NodeSpec
from l2.designs.sidechain.errors import SidechainConfigError
from l2.designs.sidechain.execution import Genesis
from l2.designs.sidechain.messages import PREVOTE, sign_vote
from l2.designs.sidechain.node import Validator
from l2.designs.sidechain.reporter import EvidenceReporter

from .conftest import SIDECHAIN_ID, SIGNERS, STAKES, VALIDATOR_KEYS


def cluster_config(verifying_contract: str) -> ClusterConfig:
    nodes = tuple(NodeSpec(s.address, stake, 41_000 + 2 * i, 41_001 + 2 * i)
                  for i, (s, stake) in enumerate(zip(SIGNERS, STAKES, strict=True)))
    return ClusterConfig(Genesis(SIDECHAIN_ID, 1_700_000_000, ()), nodes, c.Timing(), verifying_contract)


def witness(tmp_path, cfg: ClusterConfig, i: int) -> Validator:
    """Validator `i`, having seen validator 2 prevote two different blocks at height 1, round 0."""
    v = Validator(cfg, VALIDATOR_KEYS[i], tmp_path / f"v{i}.db", log=io.StringIO())
    for block in (b"block a", b"block b"):
        vote = sign_vote(SIGNERS[2], cfg.domain, 1, 0, PREVOTE, keccak(block))
        v._handle_message({"type": "vote", **vote.to_json()})
    return v


def test_an_equivocation_a_validator_recorded_is_slashed_on_layer1_once(env, tmp_path):
    cfg = cluster_config(env.l1.stake_manager.address)
    v0 = witness(tmp_path, cfg, 0)
    assert "equivocation by " + SIGNERS[2].address in v0.log_file.getvalue()
    reporter = EvidenceReporter(env.l1, env.mallory, tmp_path / "v0.db", cfg.domain)
    (event,) = reporter.step()
    assert f"slashed {SIGNERS[2].address}" in str(event)
    assert env.l1.voting_power(SIGNERS[2].address) == 0 and env.l1.total_stake() == sum(STAKES) - STAKES[2]
    assert reporter.step() == []  # nothing new
    v1 = witness(tmp_path, cfg, 1)  # another witness of the same fault, reporting late
    late = EvidenceReporter(env.l1, env.user, tmp_path / "v1.db", cfg.domain)
    (event,) = late.step()
    assert "already slashed" in str(event) and late.cursor == 1
    for v in (v0, v1):
        v.store.close()


def test_a_cluster_signing_under_another_domain_is_refused_before_reporting(env, tmp_path):
    cfg = cluster_config("0x" + "00" * 20)  # the nodes' default until they are told the StakeManager
    witness(tmp_path, cfg, 0).store.close()
    with pytest.raises(SidechainConfigError, match="verifyingContract"):
        EvidenceReporter(env.l1, env.mallory, tmp_path / "v0.db", cfg.domain)


def test_the_demo_s_double_prevote_is_recorded_and_slashed_with_the_stake_it_held(env, tmp_path):
    from l2.designs.sidechain.byzantine import double_prevote

    cfg = cluster_config(env.l1.stake_manager.address)
    v0 = Validator(cfg, VALIDATOR_KEYS[0], tmp_path / "v0.db", log=io.StringIO())
    first, second = double_prevote(VALIDATOR_KEYS[2], cfg.domain, 1)
    assert (first.signer, first.height, first.round) == (second.signer, second.height, second.round)
    assert first.block_hash != second.block_hash
    for vote in (first, second):
        v0._handle_message({"type": "vote", **vote.to_json()})
    (event,) = EvidenceReporter(env.l1, env.mallory, tmp_path / "v0.db", cfg.domain).step()
    assert f"slashed {SIGNERS[2].address}" in str(event) and f"{STAKES[2]} wei" in str(event)
    assert env.l1.stake_of(SIGNERS[2].address) == 0 and env.l1.voting_power(SIGNERS[2].address) == 0
    v0.store.close()
