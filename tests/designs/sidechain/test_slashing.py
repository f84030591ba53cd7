"""Slashing on Layer 1 from evidence anyone submits: two different votes of one validator for one height,
round and type (as the nodes record `consensus.Equivocation`, sent as they arrived on the wire), or two
different checkpoints of the same blocks. The whole stake goes (a share to the reporter, the rest burned),
the validator leaves the set at once, and nothing else is slashable evidence."""

from __future__ import annotations

import pytest

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import bridge
from l2.designs.sidechain.bridge import Checkpoint
from l2.designs.sidechain.messages import NIL, PRECOMMIT, PREVOTE, Domain, decode_vote, sign_vote
from l2.errors import TransactionReverted

from .conftest import ETHER, SIDECHAIN_ID, SIGNERS, STAKES, block_hashes

A, B = keccak(b"block a"), keccak(b"block b")


def votes(env, signer, first=(5, 0, PREVOTE, A), second=(5, 0, PREVOTE, B), domain=None, wire=True):
    """Two votes signed by `signer`, passed through the wire decoder as a node receives them (unless
    `wire` is False: the decoder refuses what no node would sign)."""
    domain = domain or env.l1.vote_domain()
    signed = [sign_vote(signer, domain, *v) for v in (first, second)]
    return [decode_vote(v.to_json(), domain) for v in signed] if wire else signed


def test_two_prevotes_for_different_blocks_in_one_round_slash_the_whole_stake(env):
    reporter = env.mallory
    total_before = env.l1.total_stake()
    first, second = votes(env, SIGNERS[1])
    before = env.chain.balance(reporter.address)
    receipt = env.l1.slash_double_vote(reporter, first, second)
    (event,) = env.chain.events(receipt, env.l1.stake_manager, "Slashed")
    reward = STAKES[1] // 10
    assert (event.signer, event.reporter, event.amount, event.reward) == (SIGNERS[1].address, reporter.address,
                                                                          STAKES[1], reward)
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    assert env.chain.balance(reporter.address) - before == reward - fee
    assert env.l1.sm.burned().call() == STAKES[1] - reward
    assert env.l1.voting_power(SIGNERS[1].address) == 0
    assert env.l1.total_stake() == total_before - STAKES[1]  # out at once, not next epoch
    change = env.l1.set_changes()[-1]
    assert (change.signer, change.power, change.effective_epoch) == (SIGNERS[1].address, 0, 0)
    # Left with 40 + 20 + 10: the two largest (60 of 70) now make a quorum without it ...
    number, _ = env.checkpoint(3, signers=[SIGNERS[0], SIGNERS[2]])
    assert number == 0
    # ... and its signature no longer counts.
    cp = bridge.make_checkpoint(4, block_hashes(4, 4), [])
    with pytest.raises(TransactionReverted, match="InactiveSigner"):
        env.l1.submit_checkpoint(env.chain.accounts[0], cp, env.sign(cp, SIGNERS[:3]))


def test_the_same_evidence_or_other_evidence_slashes_only_once(env):
    first, second = votes(env, SIGNERS[0])
    env.l1.slash_double_vote(env.mallory, first, second)
    other = votes(env, SIGNERS[0], (9, 1, PRECOMMIT, A), (9, 1, PRECOMMIT, NIL))
    for pair in ((first, second), (second, first), other):
        with pytest.raises(TransactionReverted, match="AlreadySlashed"):
            env.l1.slash_double_vote(env.user, *pair)
    assert env.l1.sm.burned().call() == STAKES[0] - STAKES[0] // 10


def test_a_vote_for_a_block_and_one_for_nil_in_the_same_round_are_equivocation(env):
    env.l1.slash_double_vote(env.mallory, *votes(env, SIGNERS[2], (3, 2, PRECOMMIT, A), (3, 2, PRECOMMIT, NIL)))
    assert env.l1.voting_power(SIGNERS[2].address) == 0


@pytest.mark.parametrize("second", [(6, 0, PREVOTE, B), (5, 1, PREVOTE, B), (5, 0, PRECOMMIT, B)],
                         ids=["another height", "another round", "another type"])
def test_votes_for_different_slots_are_not_equivocation(env, second):
    with pytest.raises(TransactionReverted, match="EvidenceNotSameSlot"):
        env.l1.slash_double_vote(env.mallory, *votes(env, SIGNERS[0], second=second))
    assert env.l1.voting_power(SIGNERS[0].address) == STAKES[0]


def test_one_vote_twice_or_votes_of_an_unknown_type_are_not_evidence(env):
    first, _ = votes(env, SIGNERS[0])
    with pytest.raises(TransactionReverted, match="EvidenceNotConflicting"):
        env.l1.slash_double_vote(env.mallory, first, first)
    with pytest.raises(TransactionReverted, match="InvalidVoteType"):
        env.l1.slash_double_vote(env.mallory, *votes(env, SIGNERS[0], (5, 0, 3, A), (5, 0, 3, B), wire=False))


def test_votes_of_two_validators_or_signed_for_another_sidechain_slash_nobody(env):
    (first, _), (_, other) = votes(env, SIGNERS[0]), votes(env, SIGNERS[1])
    with pytest.raises(TransactionReverted, match="SignersDiffer"):
        env.l1.slash_double_vote(env.mallory, first, other)
    # Signed under another domain (another sidechain, or the zero verifying contract the nodes use until
    # they are told the StakeManager's address): here they recover to some other key each.
    for domain in (Domain(SIDECHAIN_ID + 1, env.l1.stake_manager.address), Domain(SIDECHAIN_ID)):
        with pytest.raises(TransactionReverted, match="SignersDiffer"):
            env.l1.slash_double_vote(env.mallory, *votes(env, SIGNERS[0], domain=domain))
    assert env.l1.total_stake() == sum(STAKES)


def test_an_unbonding_validator_is_still_slashable_and_a_withdrawn_one_has_nothing_left(env):
    env.checkpoint(1)
    env.l1.unstake(env.owners[3], SIGNERS[3].address)
    env.l1.slash_double_vote(env.mallory, *votes(env, SIGNERS[3]))  # still counted this epoch: out now
    assert env.l1.total_stake() == sum(STAKES[:3])
    env.checkpoint(2, signers=SIGNERS[:3])
    assert env.l1.total_stake() == sum(STAKES[:3])  # not subtracted a second time at the epoch change
    env.l1.unstake(env.owners[2], SIGNERS[2].address)
    for end in range(3, 6):
        env.checkpoint(end, signers=SIGNERS[:2])
    env.l1.withdraw_stake(env.owners[2], SIGNERS[2].address)
    with pytest.raises(TransactionReverted, match="NothingToSlash"):
        env.l1.slash_double_vote(env.mallory, *votes(env, SIGNERS[2]))


def test_two_different_checkpoints_of_the_same_blocks_slash_their_signer(env):
    honest = bridge.make_checkpoint(1, block_hashes(1, 4), [])
    forged = Checkpoint(1, 4, honest.block_root, b"\x99" * 32)  # same blocks, a made-up exit root
    sig_h, sig_f = env.sign(honest, SIGNERS[:1]), env.sign(forged, SIGNERS[:1])
    address = SIGNERS[0].address
    env.l1.slash_double_checkpoint(env.mallory, (honest, sig_h[address]), (forged, sig_f[address]))
    assert env.l1.voting_power(address) == 0
    with pytest.raises(TransactionReverted, match="AlreadySlashed"):
        env.l1.slash_double_checkpoint(env.user, (forged, sig_f[address]), (honest, sig_h[address]))


def test_checkpoints_of_different_ranges_or_the_same_one_twice_are_not_evidence(env):
    short = bridge.make_checkpoint(1, block_hashes(1, 3), [])
    longer = bridge.make_checkpoint(1, block_hashes(1, 4), [])  # a retry with one more block: honest
    address = SIGNERS[0].address
    sig_s, sig_l = env.sign(short, SIGNERS[:1])[address], env.sign(longer, SIGNERS[:1])[address]
    with pytest.raises(TransactionReverted, match="EvidenceNotSameSlot"):
        env.l1.slash_double_checkpoint(env.mallory, (short, sig_s), (longer, sig_l))
    with pytest.raises(TransactionReverted, match="EvidenceNotConflicting"):
        env.l1.slash_double_checkpoint(env.mallory, (short, sig_s), (short, sig_s))
    other = bridge.make_checkpoint(1, block_hashes(1, 3, fork=b"x"), [])
    with pytest.raises(TransactionReverted, match="SignersDiffer"):
        env.l1.slash_double_checkpoint(env.mallory, (short, sig_s),
                                       (other, env.sign(other, SIGNERS[1:2])[SIGNERS[1].address]))
    assert env.l1.total_stake() == sum(STAKES) and env.l1.sm.burned().call() == 0


def test_a_slashed_validator_that_joined_this_epoch_never_counts(env):
    env.checkpoint(1)
    late = Signer(bytes([0x91]) * 32)
    env.l1.stake(env.chain.accounts[8], late.address, 9 * ETHER)
    env.l1.slash_double_vote(env.mallory, *votes(env, late))
    env.checkpoint(2)
    assert env.l1.total_stake() == sum(STAKES) and env.l1.voting_power(late.address) == 0
