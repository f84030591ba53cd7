"""One participant of a state channel: proposes and checks moves with the app's rules (`rules.py`), signs
EIP-712 states, keeps every state it signed or received (in SQLite, before it acts, when given a store), and
talks to the Adjudicator.

Off-chain, a channel is a sequence of states; state t is signed by participant t mod n. Setup: each
participant signs the opening state in turn (turns 0..n-1, nothing may change), then they fund the channel,
then the app's moves begin. A party's *supported* state is its newest state preceded by n-1 valid moves,
each signed by its mover (or a state everyone signed): exactly what `Adjudicator.challenge` and
`checkpoint` accept.

A message is a dict (`messages.encode_move`); `receive` takes one and returns nothing: the caller (a test,
the demo, `transport.py` between processes) decides how moves travel.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from eth_account.signers.local import LocalAccount

from l2.core.crypto import Signer
from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.rules import (
    APPS,
    ZERO_ADDRESS,
    FixedPart,
    OnChain,
    Phase,
    RPSData,
    VariablePart,
    check_signed_by_all,
    check_transition,
    pay,
    rps_move,
)
from l2.designs.statechannels.storage import StateStore


class Party:
    def __init__(self, fixed: FixedPart, app: str, domain: m.Domain, key: bytes, *, store: StateStore | None = None,
                 chain=None, adjudicator=None, account: LocalAccount | None = None,
                 clock: Callable[[], float] | None = None, rng: random.Random | None = None):
        self.fixed = fixed
        self.app = app
        self.rule = APPS[app]
        self.domain = domain
        self.channel_id = fixed.channel_id
        self.signer = Signer(key)
        if self.signer.address not in fixed.participants:
            raise e.NotMover(f"{self.signer.address} is not a participant of this channel")
        self.me = fixed.participants.index(self.signer.address)
        if fixed.challenge_duration <= 0:
            raise e.NothingToDo("a channel with no challenge duration cannot be defended: refuse to join it")
        self.expected_opening: VariablePart | None = None  # what we agreed to open with, if told
        # Moves after setup wait until the outcome is backed: by the Adjudicator's holdings (read once, when
        # connected), or by guarantees in ledger channels (a virtual channel: set by `virtual.fund_virtual`).
        self.funding_checked = chain is None
        self.funded_by_guarantees = False
        self.store = store
        self.chain = chain
        self.adjudicator = adjudicator
        self.account = account
        self.clock = clock or (chain.now if chain is not None else time.time)
        self.rng = rng or random.Random()
        self.states: dict[int, tuple[VariablePart, bytes]] = {}  # turn -> (state, its mover's signature)
        self._top = -1  # the newest turn held (max(self.states) without a scan on every move)
        self.final: tuple[VariablePart, dict[int, bytes]] | None = None  # a final state and who signed it
        self.secrets: dict[int, tuple[int, bytes]] = {}  # our commit's turn -> (play, salt)
        self.waiting_since: float | None = None  # when the turn passed to someone else
        if store is not None:
            store.save_channel(fixed, app, self.me, domain.chain_id, domain.adjudicator)

    @classmethod
    def restore(cls, store: StateStore, key: bytes, **kwargs) -> Party:
        """The party as its database left it (after a crash: every state it signed or received)."""
        loaded = store.load()
        if loaded is None:
            raise e.StateChannelStorageError(f"{store.path} holds no channel")
        fixed, app, me, chain_id, adjudicator, states, secrets = loaded
        address = Signer(key).address
        if address not in fixed.participants or fixed.participants.index(address) != me:
            raise e.StateChannelStorageError(f"{store.path} belongs to participant {me}, not this key")
        party = cls(fixed, app, m.Domain(chain_id, adjudicator), key, store=store, **kwargs)
        for (turn, final), (state, sigs) in states.items():
            if final:
                party.final = (state, sigs)
            else:
                party._put(state, sigs[fixed.mover(turn)])
        party.secrets = secrets
        if party.latest is not None and not party.my_turn:
            party.waiting_since = party.clock()
        return party

    # --- what the party holds ----------------------------------------------------------------------

    def _put(self, state: VariablePart, signature: bytes) -> None:
        self.states[state.turn_num] = (state, signature)
        self._top = max(self._top, state.turn_num)

    @property
    def latest(self) -> VariablePart | None:
        return self.states[self._top][0] if self._top >= 0 else None

    @property
    def newest(self) -> VariablePart:
        """`latest` where a state must exist: NothingToDo before the channel is opened."""
        latest = self.latest
        if latest is None:
            raise e.NothingToDo("the channel is not open yet: it has no state")
        return latest

    @property
    def turn_num(self) -> int:
        return self._top

    @property
    def my_turn(self) -> bool:
        return self.fixed.mover(self.turn_num + 1) == self.me

    def supported(self) -> tuple[VariablePart, list[tuple[VariablePart, bytes]]] | None:
        """Our newest supported state and its proof (n consecutive moves), or None before setup ends."""
        n = self.fixed.n
        top = self.turn_num
        if top < n - 1:
            return None
        proof = [self.states[t] for t in range(top - n + 1, top + 1)]
        return proof[-1][0], proof

    # --- moves -------------------------------------------------------------------------------------

    def open(self, outcome: tuple[int, ...], app_data: bytes = b"") -> dict | None:
        """Participant 0 signs the opening state (turn 0); the others sign theirs on receipt (`receive`)."""
        if self.me != 0 or self.states:
            raise e.NotYourTurn("participant 0 opens a channel, once")
        return self._sign_and_keep(VariablePart(tuple(outcome), app_data, 0))

    def propose(self, state: VariablePart, secret: tuple[int, bytes] | None = None) -> dict:
        """Sign our move `state` after checking it with the same rules the receiver and Layer 1 apply."""
        if not self.my_turn:
            raise e.NotYourTurn(f"turn {self.turn_num + 1} is participant {self.fixed.mover(self.turn_num + 1)}'s")
        self._refuse_if_concluded()
        latest = self.latest
        if latest is None:
            raise e.NotYourTurn("the channel is not open yet")
        check_transition(self.fixed, latest, state, self.rule)
        self._require_funded(state)
        return self._sign_and_keep(state, secret)

    def _sign_and_keep(self, state: VariablePart, secret: tuple[int, bytes] | None = None) -> dict:
        signature = m.sign_state(self.signer, self.domain, self.channel_id, state)
        if self.store is not None:  # on disk before anyone sees it
            self.store.save_state(self.channel_id, state, {self.me: signature}, secret)
        self._put(state, signature)
        if secret is not None:
            self.secrets[state.turn_num] = secret
        self.waiting_since = self.clock()
        return m.encode_move(self.channel_id, state, signature)

    def receive(self, message) -> dict | None:
        """Take the next participant's move: every rule checked, stored, then kept. In setup, answer with
        our own setup state when it is our turn (returned); otherwise returns None."""
        channel_id, state, signature = m.decode_move(message)
        if channel_id != self.channel_id:
            raise e.WrongChannel(f"move for channel {channel_id.hex()}, this is {self.channel_id.hex()}")
        known = self.states.get(state.turn_num)
        if known is not None and known == (state, signature):
            return None  # the same move delivered again (a peer restarting resends its newest)
        self._refuse_if_concluded()
        mover = self.fixed.mover(state.turn_num)
        if state.turn_num == 0 and not self.states:
            self.rule_setup_opening(state)
        else:
            latest = self.latest
            if latest is None:
                raise e.TurnNotNext("the first state of a channel is turn 0")
            check_transition(self.fixed, latest, state, self.rule)
            self._require_funded(state)
        signer = m.signer_of(self.domain, self.channel_id, state, signature)
        if signer != self.fixed.participants[mover]:
            raise e.NotMover(f"turn {state.turn_num} must be signed by {self.fixed.participants[mover]}, not {signer}")
        if self.store is not None:
            self.store.save_state(self.channel_id, state, {mover: signature})
        self._put(state, signature)
        self.waiting_since = None if self.my_turn else self.clock()
        if state.turn_num < self.fixed.n - 1 and self.my_turn:
            return self._sign_and_keep(VariablePart(state.outcome, state.app_data, state.turn_num + 1))
        return None

    def _require_funded(self, state: VariablePart) -> None:
        """No app move on an outcome nobody can be paid: Layer 1 must hold it (or guarantees back it)."""
        if self.funding_checked or state.turn_num < self.fixed.n:
            return
        if not self.funded_by_guarantees:
            held = self.held()
            if held < state.total:
                raise e.NotFunded(f"the Adjudicator holds {held} for this channel, its outcome is {state.total}: "
                                  "no moves until it is funded")
        self.funding_checked = True

    def resend(self) -> dict | None:
        """Our newest own move again (after a restart, or when the peer says it has not seen it)."""
        mine = [t for t in self.states if self.fixed.mover(t) == self.me]
        if not mine:
            return None
        state, signature = self.states[max(mine)]
        return m.encode_move(self.channel_id, state, signature)

    def rule_setup_opening(self, state: VariablePart) -> None:
        if self.expected_opening is not None and state != self.expected_opening:
            raise e.SetupStateChanged(f"the opening state {state} is not the agreed {self.expected_opening}")
        if state.is_final:
            raise e.FinalStateNeedsAllSignatures("an opening state cannot be final")
        if len(state.outcome) != self.fixed.n:
            raise e.OutcomeLengthMismatch(f"outcome has {len(state.outcome)} amounts for {self.fixed.n}")

    # --- app helpers ---------------------------------------------------------------------------------

    def pay(self, amount: int) -> dict:
        """Payment app: the payer pays `amount` more."""
        if amount <= 0:
            raise e.NothingToDo(f"a payment is a positive amount, got {amount}")
        latest = self.latest
        if latest is None or latest.outcome[0] < amount:
            raise e.NothingToDo(f"the payer holds {0 if latest is None else latest.outcome[0]}, cannot pay {amount}")
        return self.propose(pay(latest, amount))

    def acknowledge(self) -> dict:
        """Payment app: the payee's move, which changes nothing and hands the turn back."""
        latest = self.latest
        if latest is None:
            raise e.NotYourTurn("the channel is not open yet")
        return self.propose(VariablePart(latest.outcome, latest.app_data, latest.turn_num + 1))

    def play(self, play: int | None = None) -> dict:
        """Rock-paper-scissors: our next move (commit, play, reveal or a new round), `play` or a random one."""
        latest = self.latest
        if latest is None:
            raise e.NotYourTurn("the channel is not open yet")
        data = RPSData.decode(latest.app_data)
        secret = None
        if data.phase == Phase.PLAY:
            commit_turn = latest.turn_num - 1
            if commit_turn not in self.secrets:
                raise e.NothingToDo(f"no secret stored for the commitment at turn {commit_turn}")
            stored_play, stored_salt = self.secrets[commit_turn]
            state, _, _ = rps_move(latest, play=stored_play, salt=stored_salt)
        else:
            state, chosen, salt = rps_move(latest, play=play, rng=self.rng)
            if data.phase == Phase.START:
                assert chosen is not None and salt is not None  # a commit always draws both
                secret = (chosen, salt)
        return self.propose(state, secret)

    def next_move(self) -> VariablePart | None:
        """Make (sign and store) the move we would make without being asked, to answer a challenge: a
        payee's acknowledgement, or any game move except opening a new round (whose outcome is already
        fair). None if there is none to make."""
        latest = self.latest
        if latest is None or not self.my_turn:
            return None
        if self.app == "payment":
            if self.me == 0:
                return None  # the payer owes no move: its newest state already stands
            self.acknowledge()
            return self.latest
        if self.app != "rps":
            return None
        data = RPSData.decode(latest.app_data)
        if data.phase == Phase.START:
            return None
        self.play()
        return self.latest

    # --- conclusion ----------------------------------------------------------------------------------

    def propose_conclusion(self) -> dict:
        """A final state with our latest outcome, signed by us: everyone signs it to conclude."""
        latest = self.latest
        if latest is None or latest.turn_num < self.fixed.n - 1:
            raise e.NothingToDo("the channel is not set up yet")
        state = VariablePart(latest.outcome, latest.app_data, latest.turn_num + 1, True)
        return self._sign_final(state)

    def countersign_conclusion(self, message) -> dict:
        """Sign a final state if it pays exactly what our newest state pays."""
        channel_id, state, signature = m.decode_move(message)
        if channel_id != self.channel_id:
            raise e.WrongChannel("conclusion for another channel")
        if not state.is_final:
            raise e.NotFinal(f"state {state.turn_num} is not final")
        latest = self.latest
        if latest is None or state.outcome != latest.outcome or state.turn_num <= latest.turn_num:
            raise e.WrongPayout(f"the final state pays {state.outcome}, our newest state pays "
                                f"{None if latest is None else latest.outcome}")
        signer = m.signer_of(self.domain, self.channel_id, state, signature)
        if signer not in self.fixed.participants:
            raise e.NotSignedByAll(f"final state signed by a stranger {signer}")
        self._remember_final(state, {self.fixed.participants.index(signer): signature})
        return self._sign_final(state)

    def take_conclusion(self, message) -> None:
        """Add a co-signature of the final state we proposed."""
        channel_id, state, signature = m.decode_move(message)
        if self.final is None or channel_id != self.channel_id or state != self.final[0]:
            raise e.WrongChannel("not a signature of our final state")
        signer = m.signer_of(self.domain, self.channel_id, state, signature)
        if signer not in self.fixed.participants:
            raise e.NotSignedByAll(f"final state signed by a stranger {signer}")
        self._remember_final(state, {self.fixed.participants.index(signer): signature})

    def _sign_final(self, state: VariablePart) -> dict:
        signature = m.sign_state(self.signer, self.domain, self.channel_id, state)
        self._remember_final(state, {self.me: signature})
        return {**m.encode_move(self.channel_id, state, signature), "type": "Conclude"}

    def _remember_final(self, state: VariablePart, signatures: dict[int, bytes]) -> None:
        sigs = dict(self.final[1]) if self.final is not None and self.final[0] == state else {}
        sigs.update(signatures)
        if self.store is not None:
            self.store.save_state(self.channel_id, state, signatures)
        self.final = (state, sigs)

    def _refuse_if_concluded(self) -> None:
        if self.final is not None:
            raise e.FinalStateCannotChange("this party signed a final state: no more moves")

    # --- Layer 1 -------------------------------------------------------------------------------------

    def _need_chain(self):
        if self.chain is None or self.adjudicator is None or self.account is None:
            raise e.NothingToDo("this party is not connected to Layer 1")
        return self.chain, self.adjudicator

    def held(self) -> int:
        chain, adj = self._need_chain()
        return chain.call(adj.functions.holdings(self.fixed.asset, self.channel_id))

    def deposit(self, amount: int, expected_held: int | None = None):
        """Deposit on top of what the channel holds now (`expected_held`, read from Layer 1 if not given)."""
        chain, adj = self._need_chain()
        held = self.held() if expected_held is None else expected_held
        value = amount if self.fixed.asset == ZERO_ADDRESS else 0
        return chain.transact(adj.functions.deposit(self.fixed.asset, self.channel_id, held, amount),
                              self.account, value=value)

    def proof(self) -> list[tuple]:
        supported = self.supported()
        if supported is None:
            raise e.NothingToDo("no supported state yet: the channel's setup is not over")
        return [m.signed_tuple(state, [sig]) for state, sig in supported[1]]

    def challenge(self):
        """Challenge with our newest supported state: whoever moves next must move on Layer 1 (or on
        here, and we checkpoint) before the challenge duration ends, or lose by timeout."""
        chain, adj = self._need_chain()
        state = self.supported()
        if state is None:
            raise e.NothingToDo("no supported state yet")
        sig = self.signer.sign(m.challenge_digest(self.domain, self.channel_id, state[0]))
        return chain.transact(adj.functions.challenge(self.fixed.as_tuple(), self.proof(), m.sig_tuple(sig)),
                              self.account)

    def checkpoint(self):
        chain, adj = self._need_chain()
        return chain.transact(adj.functions.checkpoint(self.fixed.as_tuple(), self.proof()), self.account)

    def respond(self, challenged: VariablePart, move: VariablePart):
        """Our move `move` (already proposed and stored) on Layer 1, against the challenged state."""
        chain, adj = self._need_chain()
        signature = self.states[move.turn_num][1]
        return chain.transact(adj.functions.respond(self.fixed.as_tuple(), challenged.as_tuple(),
                                                    m.signed_tuple(move, [signature])), self.account)

    def conclude(self, transfer: bool = True):
        """Submit the final state everyone signed (and pay out, in the same transaction)."""
        chain, adj = self._need_chain()
        if self.final is None or len(self.final[1]) != self.fixed.n:
            raise e.NothingToDo("no final state signed by everyone")
        state, sigs = self.final
        signed = m.signed_tuple(state, [sigs[i] for i in range(self.fixed.n)])
        check_signed_by_all(self.fixed, tuple(m.signer_of(self.domain, self.channel_id, state, sigs[i])
                                              for i in range(self.fixed.n)))
        fn = adj.functions.concludeAndTransfer if transfer else adj.functions.conclude
        return chain.transact(fn(self.fixed.as_tuple(), signed), self.account)

    def transfer(self, state: VariablePart, owed: tuple[int, ...]):
        chain, adj = self._need_chain()
        return chain.transact(adj.functions.transfer(self.fixed.as_tuple(), m.state_hash(self.channel_id, state),
                                                     list(owed)), self.account)

    def onchain(self) -> OnChain:
        """The channel as Layer 1 has it, with the recorded state and what is still owed (from the events)."""
        chain, adj = self._need_chain()
        turn, finalizes_at, _ = chain.call(adj.functions.channelRecord(self.channel_id))
        held = self.held()
        recorded = owed = None
        if finalizes_at:
            recorded, owed = self._recorded_state(turn, finalizes_at)
        return OnChain(turn, finalizes_at, held, recorded, owed)

    def learn_responses(self) -> list[VariablePart]:
        """Take the moves answered on Layer 1 (`respond`) that we have not seen off-chain: each is read
        from its transaction's input (the event carries the state, the input the mover's signature) and
        checked like any move. Returns the states learned, oldest first."""
        chain, adj = self._need_chain()
        learned = []
        for log in adj.events.Responded().get_logs(from_block=0, argument_filters={"channelId": self.channel_id}):
            if log.args.turnNumRecord <= self.turn_num:
                continue
            tx = chain.w3.eth.get_transaction(log.transactionHash)
            _, args = adj.decode_function_input(tx["input"])
            state_raw, sigs = args["response"]["variablePart"], args["response"]["sigs"]
            state = VariablePart(tuple(state_raw["outcome"]), bytes(state_raw["appData"]), state_raw["turnNum"],
                                 state_raw["isFinal"])
            sig = sigs[0]
            signature = bytes(sig["r"]) + bytes(sig["s"]) + bytes([sig["v"]])
            self.receive(m.encode_move(self.channel_id, state, signature))
            learned.append(state)
        return learned

    def _recorded_state(self, turn: int, finalizes_at: int) -> tuple[VariablePart | None, tuple[int, ...] | None]:
        chain, adj = self._need_chain()
        topics = {"channelId": self.channel_id}
        recorded = None
        if self.final is not None and turn == 0:
            recorded = self.final[0]
        for log in adj.events.Challenged().get_logs(from_block=0, argument_filters=topics):
            if log.args.turnNumRecord == turn and log.args.finalizesAt == finalizes_at:
                s = log.args.state
                recorded = VariablePart(tuple(s.outcome), bytes(s.appData), s.turnNum, s.isFinal)
        owed = recorded.outcome if recorded is not None else None
        for log in adj.events.Paid().get_logs(from_block=0, argument_filters=topics):
            if owed is not None:
                owed = tuple(o - p for o, p in zip(owed, log.args.amounts, strict=True))
        return recorded, owed


def connect(chain, adjudicator, fixed: FixedPart, app: str, account: LocalAccount, store: StateStore | None = None,
            **kwargs) -> Party:
    """A party on Layer 1 (`account` signs states and sends its transactions)."""
    return Party(fixed, app, m.Domain(chain.chain_id, adjudicator.address), bytes(account.key), store=store,
                 chain=chain, adjudicator=adjudicator, account=account, **kwargs)


def setup(parties: list[Party], outcome: tuple[int, ...], app_data: bytes = b"") -> None:
    """Run the setup round among in-process parties: each signs the opening state in turn (and refuses any
    other opening than the agreed one)."""
    for p in parties:
        p.expected_opening = VariablePart(tuple(outcome), app_data, 0)
    message = parties[0].open(outcome, app_data)
    for turn in range(1, len(parties)):
        for p in parties:
            if p.me != turn - 1:
                answer = p.receive(message)
                if answer is not None:
                    message = answer
    for p in parties:
        if p.me != len(parties) - 1:
            p.receive(message)


def deliver(message: dict, *receivers: Party) -> None:
    for receiver in receivers:
        receiver.receive(message)


def conclude_together(parties: list[Party]) -> None:
    """Everyone signs the final state (off-chain); then any one of them can `conclude()`."""
    proposal = parties[0].propose_conclusion()
    for p in parties[1:]:
        answer = p.countersign_conclusion(proposal)
        parties[0].take_conclusion(answer)
        for q in parties[1:]:
            if q is not p:
                q.take_conclusion(answer)
