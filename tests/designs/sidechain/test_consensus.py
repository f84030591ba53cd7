"""The consensus rules alone: four validators' state machines on a simulated network and a virtual clock.

Each simulated node is the pure `consensus.handle` plus the smallest shell: it signs what the rules ask it to
vote, delivers every message to every live node, and fires timeouts from a virtual clock. Blocks are opaque
here (their hash is all that votes name); the process-level tests execute real ones.
"""

from __future__ import annotations

import heapq
import itertools

import pytest

from l2.core.crypto import Signer, keccak
from l2.designs.sidechain import consensus as c
from l2.designs.sidechain.messages import (
    NIL,
    PRECOMMIT,
    PREVOTE,
    Block,
    Domain,
    decode_proposal,
    decode_vote,
    sign_proposal,
    sign_vote,
)

DOMAIN = Domain(777)
KEYS = [bytes([i + 1]) * 32 for i in range(4)]
SIGNERS = [Signer(k) for k in KEYS]
TIMING = c.Timing(propose=1.0, prevote=0.5, precommit=0.5, delta=0.5, block_interval=0.2)


def validator_set(stakes=(1, 1, 1, 1)) -> c.ValidatorSet:
    return c.ValidatorSet(tuple(c.Validator(s.address, stake) for s, stake in zip(SIGNERS, stakes, strict=True)))


class Network:
    """Four nodes, messages delivered in order to every live node, timeouts on a virtual clock."""

    def __init__(self, stakes=(1, 1, 1, 1), invalid=frozenset()):
        self.vset = validator_set(stakes)
        self.ctx = {s.address: c.Context(self.vset, s.address, TIMING) for s in SIGNERS}
        self.signers = {s.address: s for s in SIGNERS}
        self.live = set(self.signers)
        self.invalid = set(invalid)  # block hashes every honest node finds invalid
        self.now = 0.0
        self.timers: list = []
        self.order = itertools.count()
        self.inbox: list = []  # (recipient, event)
        self.states: dict[str, c.State] = {}
        self.decided: dict[str, list] = {a: [] for a in self.signers}  # address -> [(height, round, hash)]
        self.commits: list[c.Commit] = []
        self.evidence: list[c.Equivocation] = []
        self.built: dict[bytes, Block] = {}
        for address in self.signers:
            self.states[address], actions = c.start_height(self.ctx[address], 1)
            self.act(address, actions)

    def act(self, address, actions):
        signer = self.signers[address]
        for action in actions:
            if isinstance(action, c.ScheduleTimeout):
                heapq.heappush(self.timers, (self.now + action.seconds, next(self.order), address,
                                             c.TimeoutFired(action.height, action.round, action.step)))
            elif isinstance(action, c.CastVote):
                vote = sign_vote(signer, DOMAIN, action.height, action.round, action.vote_type, action.block_hash)
                self.broadcast(c.VoteReceived(vote))
            elif isinstance(action, c.BuildProposal):
                if action.block_hash is not None:
                    block = self.built[action.block_hash]
                else:
                    block_hash = keccak(b"block %d %d" % (action.height, action.round))
                    block = Block(action.height, NIL, 0, address, (), block_hash)
                    self.built[block_hash] = block
                self.broadcast(sign_proposal(signer, DOMAIN, action.round, action.valid_round, block))
            elif isinstance(action, c.Commit):
                self.decided[address].append((action.height, action.round, action.block_hash))
                self.commits.append(action)
                self.states[address], more = c.start_height(self.ctx[address], action.height + 1)
                self.act(address, more)
            elif isinstance(action, c.Equivocation):
                self.evidence.append(action)

    def broadcast(self, message):
        for address in self.signers:
            if address in self.live:
                self.inbox.append((address, message))

    def deliver(self, address, message):
        state = self.states[address]
        if isinstance(message, c.VoteReceived):
            event = message
        else:
            if c.accepts_proposal(self.ctx[address], state, message.height, message.round, message.signer):
                return
            event = c.ProposalReceived(message, message.block.hash not in self.invalid)
        self.states[address], actions = c.handle(self.ctx[address], state, event)
        self.act(address, actions)

    def run(self, until: float, max_events: int = 200_000):
        for _ in range(max_events):
            if self.inbox:
                address, message = self.inbox.pop(0)
                if address in self.live:
                    self.deliver(address, message)
                continue
            if not self.timers or self.timers[0][0] > until:
                self.now = until
                return
            self.now, _, address, event = heapq.heappop(self.timers)
            if address in self.live:
                self.states[address], actions = c.handle(self.ctx[address], self.states[address], event)
                self.act(address, actions)
        raise AssertionError("simulation did not settle")

    def heights(self):
        return {a: len(d) for a, d in self.decided.items()}

    def revive(self, address):
        """Restarted after a crash (its timers lost with the process): it starts its height afresh and re-hears
        the others' votes, as the nodes' periodic re-broadcast gives them to it."""
        self.live.add(address)
        self.states[address], actions = c.start_height(self.ctx[address], self.states[address].height)
        self.act(address, actions)
        state = self.states[address]
        for other in self.live - {address}:
            for vote in self.states[other].votes:
                if vote.signer == other and vote.height == state.height:
                    self.inbox.append((address, c.VoteReceived(vote)))


def test_four_validators_decide_the_same_blocks_with_quorum_commits():
    net = Network()
    net.run(until=10.0)
    chains = list(net.decided.values())
    assert len(chains[0]) >= 5
    shortest = min(len(d) for d in chains)
    for d in chains:
        assert d[:shortest] == chains[0][:shortest]  # no fork
    assert [h for h, _, _ in chains[0]] == list(range(1, len(chains[0]) + 1))
    for commit in net.commits:
        assert c.commit_power(net.vset, commit.precommits, commit.height, commit.block_hash) >= 3


def test_a_silent_proposer_costs_one_round_and_the_next_proposer_decides():
    net = Network()
    silent = net.vset.proposer(1, 0)
    net.live.discard(silent)
    net.run(until=4.0)
    others = [a for a in net.signers if a != silent]
    first = net.decided[others[0]][0]
    assert first[:2] == (1, 1)  # height 1 decided in round 1
    assert all(net.decided[a][0] == first for a in others)
    assert net.built[first[2]].proposer == net.vset.proposer(1, 1) != silent


def test_two_of_four_down_decide_nothing_and_resume_when_one_returns():
    net = Network()
    net.run(until=1.0)
    down = sorted(net.signers)[:2]
    net.live.difference_update(down)
    before = net.heights()
    net.run(until=8.0)
    assert net.heights() == before  # halted: 2 of 4 is not more than 2/3
    # Tendermint's halt: without votes from more than 2/3 no step's timer starts, so the two wait in the
    # round they are in instead of churning through rounds nobody can finish.
    assert {net.states[a].step for a in net.live} <= {c.PREVOTE_STEP, c.PRECOMMIT_STEP}
    net.revive(down[0])
    net.run(until=30.0)
    live = sorted(net.live)
    progressed = [net.heights()[a] for a in live]
    assert all(p > max(before.values()) for p in progressed)
    common = min(progressed)
    assert all(net.decided[a][:common] == net.decided[live[0]][:common] for a in live)


def test_a_block_that_does_not_execute_is_prevoted_nil_and_a_later_round_decides():
    bad = keccak(b"block %d %d" % (1, 0))
    net = Network(invalid={bad})
    net.run(until=5.0)
    first = net.decided[SIGNERS[0].address][0]
    assert first[0] == 1 and first[1] >= 1 and first[2] != bad


def test_weighted_stake_rotation_gives_proposer_slots_in_proportion():
    vset = validator_set((4, 2, 1, 1))
    schedule = vset.schedule
    assert len(schedule) == 8
    counts = {s.address: schedule.count(s.address) for s in SIGNERS}
    assert [counts[s.address] for s in SIGNERS] == [4, 2, 1, 1]
    assert [vset.proposer(h, 0) for h in range(8)] == [vset.proposer(h + 8, 0) for h in range(8)]
    assert vset.proposer(5, 1) == vset.proposer(6, 0)  # the next round moves to the next slot


def test_quorum_is_more_than_two_thirds_of_the_stake_not_of_the_count():
    vset = validator_set((4, 2, 1, 1))
    assert not vset.is_quorum(4) and vset.is_quorum(6)  # 4/8 no, 6/8 yes: the big one plus one
    assert vset.is_quorum(4 + 2) and not vset.is_quorum(2 + 1 + 1)
    net = Network(stakes=(4, 2, 1, 1))
    net.live.difference_update({SIGNERS[2].address, SIGNERS[3].address})  # half the validators, 3/4 of stake
    net.run(until=6.0)
    assert net.heights()[SIGNERS[0].address] >= 2


def test_a_vote_from_outside_the_set_or_for_another_chain_does_not_count():
    vset = validator_set()
    ctx = c.Context(vset, SIGNERS[0].address, TIMING)
    state, _ = c.start_height(ctx, 1, wait=False)
    outsider = Signer(bytes([9]) * 32)
    vote = sign_vote(outsider, DOMAIN, 1, 0, PREVOTE, NIL)
    new_state, actions = c.handle(ctx, state, c.VoteReceived(vote))
    assert new_state.votes == () and isinstance(actions[0], c.Ignored) and "not a validator" in actions[0].reason
    # Signed by a validator, but for another sidechain: decoded under our domain it recovers to someone else.
    foreign = sign_vote(SIGNERS[1], Domain(778), 1, 0, PREVOTE, NIL)
    decoded = decode_vote(foreign.to_json(), DOMAIN)
    assert decoded.signer != SIGNERS[1].address
    new_state, actions = c.handle(ctx, state, c.VoteReceived(decoded))
    assert new_state.votes == () and isinstance(actions[0], c.Ignored)


def test_a_prevote_is_not_a_precommit_nor_a_vote_at_another_height_or_round():
    vote = sign_vote(SIGNERS[1], DOMAIN, 5, 2, PREVOTE, keccak(b"x"))
    assert decode_vote(vote.to_json(), DOMAIN).signer == SIGNERS[1].address
    for change in ({"voteType": PRECOMMIT}, {"height": 6}, {"round": 3}, {"block": "0x" + keccak(b"y").hex()}):
        assert decode_vote({**vote.to_json(), **change}, DOMAIN).signer != SIGNERS[1].address


def test_two_different_votes_for_one_round_are_equivocation_evidence():
    vset = validator_set()
    ctx = c.Context(vset, SIGNERS[0].address, TIMING)
    state, _ = c.start_height(ctx, 1, wait=False)
    first = sign_vote(SIGNERS[2], DOMAIN, 1, 0, PREVOTE, keccak(b"a"))
    second = sign_vote(SIGNERS[2], DOMAIN, 1, 0, PREVOTE, keccak(b"b"))
    state, _ = c.handle(ctx, state, c.VoteReceived(first))
    state, actions = c.handle(ctx, state, c.VoteReceived(second))
    assert actions == [c.Equivocation(first, second)]
    assert state.votes == (first,)  # the second counts for nothing
    state, actions = c.handle(ctx, state, c.VoteReceived(first))
    assert actions == []  # a re-broadcast of the same vote is no evidence


def test_a_locked_validator_prevotes_nil_for_a_fresh_block_and_yes_for_its_lock():
    vset = validator_set()
    me = SIGNERS[0].address
    ctx = c.Context(vset, me, TIMING)
    a, b = keccak(b"a"), keccak(b"b")
    state, _ = c.start_height(ctx, 1, locked_round=0, locked_hash=a, wait=False)
    r = 1
    while vset.proposer(1, r) == me:
        r += 1
    proposer = next(s for s in SIGNERS if s.address == vset.proposer(1, r))
    state = c.State(1, round=r, step=c.PROPOSE, locked_round=0, locked_hash=a, valid_round=0, valid_hash=a)
    fresh = sign_proposal(proposer, DOMAIN, r, -1, Block(1, NIL, 0, proposer.address, (), b))
    _, actions = c.handle(ctx, state, c.ProposalReceived(fresh, True))
    assert c.CastVote(1, r, PREVOTE, NIL) in actions
    again = sign_proposal(proposer, DOMAIN, r, -1, Block(1, NIL, 0, proposer.address, (), a))
    _, actions = c.handle(ctx, state, c.ProposalReceived(again, True))
    assert c.CastVote(1, r, PREVOTE, a) in actions


def test_a_proposal_from_someone_else_than_the_rounds_proposer_is_ignored():
    vset = validator_set()
    ctx = c.Context(vset, SIGNERS[0].address, TIMING)
    state, _ = c.start_height(ctx, 1, wait=False)
    impostor = next(s for s in SIGNERS if s.address != vset.proposer(1, 0))
    proposal = sign_proposal(impostor, DOMAIN, 0, -1, Block(1, NIL, 0, impostor.address, (), keccak(b"z")))
    assert c.accepts_proposal(ctx, state, 1, 0, proposal.signer) is not None
    new_state, actions = c.handle(ctx, state, c.ProposalReceived(proposal, True))
    assert new_state.proposals == () and isinstance(actions[0], c.Ignored)


def test_a_proposal_survives_the_wire_and_a_tampered_one_changes_signer():
    proposer = SIGNERS[1]
    block = Block(3, keccak(b"p"), 1_700_000_000, proposer.address, (b"\x02\x01",), keccak(b"h"))
    proposal = sign_proposal(proposer, DOMAIN, 2, 1, block)
    assert decode_proposal(proposal.to_json(), DOMAIN) == proposal
    tampered = {**proposal.to_json(), "validRound": 0}
    assert decode_proposal(tampered, DOMAIN).signer != proposer.address
    with pytest.raises(Exception, match="validRound"):
        decode_proposal({**proposal.to_json(), "validRound": 2}, DOMAIN)


def test_vote_and_proposal_digests_are_eth_accounts_typed_data():
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from l2.designs.sidechain.messages import DOMAIN_NAME, DOMAIN_VERSION, PROPOSAL_TYPE, VOTE_TYPE

    domain = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": DOMAIN.chain_id,
              "verifyingContract": DOMAIN.verifying_contract}
    vote = sign_vote(SIGNERS[3], DOMAIN, 9, 4, PRECOMMIT, keccak(b"v"))
    message = encode_typed_data(full_message={
        "types": VOTE_TYPE.eth_account_types(), "primaryType": "Vote", "domain": domain,
        "message": {"height": 9, "round": 4, "voteType": PRECOMMIT, "blockHash": keccak(b"v")}})
    assert Account.recover_message(message, signature=vote.signature) == SIGNERS[3].address
    block = Block(9, NIL, 1, SIGNERS[3].address, (), keccak(b"p"))
    proposal = sign_proposal(SIGNERS[3], DOMAIN, 4, -1, block)
    message = encode_typed_data(full_message={
        "types": PROPOSAL_TYPE.eth_account_types(), "primaryType": "Proposal", "domain": domain,
        "message": {"height": 9, "round": 4, "validRound": -1, "blockHash": keccak(b"p")}})
    assert Account.recover_message(message, signature=proposal.signature) == SIGNERS[3].address
