"""Virtual channels through a hub: Alice and Bob each hold a two-party *ledger* channel with the hub; a
virtual channel V between them (the single-direction payment app, Alice pays Bob) holds nothing on Layer 1.
It is funded by a *guarantee* in each ledger: of L_A = [Alice, hub], x of Alice's share is set aside for V,
with Alice the beneficiary of V's outcome for her; of L_B = [hub, Bob], x of the hub's share, with Bob the
beneficiary. Opening, paying and closing V are off-chain updates only (V's moves, then each ledger signed by
both its participants again); nobody touches Layer 1 while everyone cooperates.

When someone does not: each ledger can be challenged (or concluded) alone, V can be challenged or concluded
alone, and once a ledger and V are final `Adjudicator.claimGuarantee` pays the guarantee by V's final
outcome: Alice gets V's amount for her in L_A, the hub the rest; Bob his in L_B, the hub the rest. Whatever V
ends on, the hub gets back from L_A exactly what it pays Bob in L_B, so it risks nothing; a V outcome with
another total (Alice and Bob colluding) refunds each guarantee to its funder.

`Ledger` is one participant's end of a ledger channel: every state is signed by both (`ConsensusApp`); the
other end checks a proposed state by recomputing it with `rules.fund_guarantee` / `rules.release_guarantee`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount

from l2.core.crypto import Signer
from l2.designs.statechannels import errors as e
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.party import Party
from l2.designs.statechannels.rules import (
    APPS,
    FinalRecord,
    FixedPart,
    Guarantee,
    VariablePart,
    check_support,
    check_virtual_setup,
    decode_guarantees,
    fund_guarantee,
    ledger_total,
    release_guarantee,
)
from l2.designs.statechannels.storage import Proof, StateStore
from l2.errors import InvalidSignature, L2Error
from l2.runtime.service import Event


class Ledger:
    """One participant's end of a two-party ledger channel."""

    def __init__(self, fixed: FixedPart, chain, adjudicator, account: LocalAccount, store: StateStore | None = None):
        if fixed.n != 2:
            raise e.WrongParticipantCount(f"a ledger channel has two participants, not {fixed.n}")
        self.fixed = fixed
        self.channel_id = fixed.channel_id
        self.chain, self.adjudicator, self.account = chain, adjudicator, account
        self.domain = m.Domain(chain.chain_id, adjudicator.address)
        self.signer = Signer(bytes(account.key))
        self.me = fixed.participants.index(account.address)
        self.store = store
        self.latest: VariablePart | None = None  # the newest state both signed
        self.signatures: dict[int, bytes] = {}
        self.proposal: tuple[VariablePart, bytes] | None = None
        if store is not None:
            store.save_channel(fixed, "ledger", self.me, self.domain.chain_id, self.domain.adjudicator)

    @classmethod
    def restore(cls, store: StateStore, chain, adjudicator, account: LocalAccount) -> Ledger:
        """The ledger end as its database left it: the newest state both signed, and our own proposal
        after it if there is one (after a crash: resend it, or let the other end propose again)."""
        loaded = store.load()
        if loaded is None:
            raise e.StateChannelStorageError(f"{store.path} holds no channel")
        fixed, app, me, chain_id, address, states, _ = loaded
        if app != "ledger" or chain_id != chain.chain_id or address != adjudicator.address:
            raise e.StateChannelStorageError(f"{store.path} is a {app} channel of {address} on chain {chain_id}")
        if account.address not in fixed.participants or fixed.participants.index(account.address) != me:
            raise e.StateChannelStorageError(f"{store.path} belongs to participant {me}, not this account")
        ledger = cls(fixed, chain, adjudicator, account, store=store)
        for (_turn, _final), (state, sigs) in sorted(states.items()):
            if len(sigs) == fixed.n:
                ledger.latest, ledger.signatures, ledger.proposal = state, dict(sigs), None
            elif me in sigs:
                ledger.proposal = (state, sigs[me])
        return ledger

    @property
    def counterparty(self) -> str:
        return self.fixed.participants[1 - self.me]

    @property
    def newest(self) -> VariablePart:
        """The newest state both signed (NothingToDo before the ledger's opening state is signed)."""
        if self.latest is None:
            raise e.NothingToDo(f"ledger {self.channel_id.hex()} has no state both signed yet")
        return self.latest

    # --- off-chain updates ------------------------------------------------------------------------

    def propose(self, state: VariablePart) -> dict:
        if self.latest is not None and ledger_total(state) != ledger_total(self.latest):
            raise e.OutcomeTotalChanged(f"the ledger accounts for {ledger_total(self.latest)}, not "
                                        f"{ledger_total(state)}")
        signature = m.sign_state(self.signer, self.domain, self.channel_id, state)
        if self.store is not None:
            self.store.save_state(self.channel_id, state, {self.me: signature})
        self.proposal = (state, signature)
        return m.encode_move(self.channel_id, state, signature)

    def countersign(self, message, expected: VariablePart) -> dict:
        """Sign the other participant's proposal if it is exactly `expected` (what we computed ourselves)."""
        channel_id, state, signature = m.decode_move(message)
        if channel_id != self.channel_id:
            raise e.WrongChannel("a ledger update for another channel")
        if state != expected:
            raise e.LedgerUpdateRefused(f"proposed {state}, the agreed update gives {expected}")
        other = 1 - self.me
        signer = m.signer_of(self.domain, self.channel_id, state, signature)
        if signer != self.fixed.participants[other]:
            raise e.NotSignedByAll(f"ledger state signed by {signer}, not {self.fixed.participants[other]}")
        mine = m.sign_state(self.signer, self.domain, self.channel_id, state)
        self._keep(state, {other: signature, self.me: mine})
        return m.encode_move(self.channel_id, state, mine)

    def take(self, message) -> None:
        """The other participant's signature on our proposal: it is now the ledger's newest state."""
        channel_id, state, signature = m.decode_move(message)
        if self.proposal is None or channel_id != self.channel_id or state != self.proposal[0]:
            raise e.WrongChannel("not a signature of our proposal")
        other = 1 - self.me
        if m.signer_of(self.domain, self.channel_id, state, signature) != self.fixed.participants[other]:
            raise e.NotSignedByAll("the ledger state is not signed by the other participant")
        self._keep(state, {self.me: self.proposal[1], other: signature})
        self.proposal = None

    def _keep(self, state: VariablePart, signatures: dict[int, bytes]) -> None:
        if self.store is not None:
            self.store.save_state(self.channel_id, state, signatures)
        self.latest, self.signatures = state, signatures

    def final_state(self) -> VariablePart:
        """The final state both sign to conclude: the newest one, final."""
        newest = self.newest
        return VariablePart(newest.outcome, newest.app_data, newest.turn_num + 1, True)

    # --- Layer 1 ------------------------------------------------------------------------------------

    def _signed(self, state: VariablePart | None = None) -> tuple:
        state = state or self.newest
        return m.signed_tuple(state, [self.signatures[0], self.signatures[1]])

    def held(self) -> int:
        return self.chain.call(self.adjudicator.functions.holdings(self.fixed.asset, self.channel_id))

    def deposit(self, amount: int, expected_held: int):
        return self.chain.transact(self.adjudicator.functions.deposit(self.fixed.asset, self.channel_id,
                                                                      expected_held, amount),
                                   self.account, value=amount)

    def challenge(self):
        sig = self.signer.sign(m.challenge_digest(self.domain, self.channel_id, self.newest))
        return self.chain.transact(self.adjudicator.functions.challenge(self.fixed.as_tuple(), [self._signed()],
                                                                        m.sig_tuple(sig)), self.account)

    def checkpoint(self):
        return self.chain.transact(self.adjudicator.functions.checkpoint(self.fixed.as_tuple(), [self._signed()]),
                                   self.account)

    def conclude(self):
        """Submit the final state both signed; pays the outcome in the same transaction."""
        if not self.newest.is_final:
            raise e.NotFinal(f"the ledger's newest state (turn {self.newest.turn_num}) is not final")
        return self.chain.transact(self.adjudicator.functions.concludeAndTransfer(self.fixed.as_tuple(),
                                                                                  self._signed()), self.account)

    def transfer(self):
        """Pay the ledger's own outcome; its guarantees stay held until claimed."""
        return self.chain.transact(self.adjudicator.functions.transfer(
            self.fixed.as_tuple(), m.state_hash(self.channel_id, self.newest), list(self.newest.outcome)),
            self.account)

    def claim(self, target: Party | FixedPart, target_state: VariablePart | FinalRecord,
              owed: tuple[int, ...] | None = None, *, ledger_state: VariablePart | None = None):
        """Pay our guarantee for the final virtual channel `target` (final at `target_state`, or at the
        record `FinalRecord` rebuilt from Layer 1): our end of it, or only its fixed part (a hub is no
        participant of it). `ledger_state`: the ledger's final state as its record holds it (our newest by
        default); `owed`: what that record still owes (nothing, by default: after `transfer`)."""
        fixed = target if isinstance(target, FixedPart) else target.fixed
        state = self.newest if ledger_state is None else ledger_state
        index = _guarantee_index(state, fixed.channel_id)
        if index is None:
            raise e.NothingToDo(f"no guarantee for {fixed.channel_id.hex()} in this ledger")
        owed = tuple(0 for _ in state.outcome) if owed is None else owed
        ledger = (self.fixed.as_tuple(), state.as_tuple(), list(owed))
        if isinstance(target_state, FinalRecord):
            final_target = (fixed.as_tuple(), target_state.state_hash, list(target_state.owed))
        else:
            final_target = (fixed.as_tuple(), m.state_hash(fixed.channel_id, target_state),
                            list(target_state.outcome))
        return self.chain.transact(self.adjudicator.functions.claimGuarantee(ledger, index, final_target),
                                   self.account)


def open_ledger(chain, adjudicator, consensus_app, first: LocalAccount, second: LocalAccount,
                deposits: tuple[int, int], nonce: int, duration: int,
                stores: tuple[StateStore | None, StateStore | None] = (None, None)) -> tuple[Ledger, Ledger]:
    """A funded ledger channel: both ends (each with its store, if given), the opening state signed by both,
    both deposits made."""
    fixed = FixedPart((first.address, second.address), nonce, consensus_app.address, duration)
    ends = (Ledger(fixed, chain, adjudicator, first, stores[0]), Ledger(fixed, chain, adjudicator, second, stores[1]))
    opening = VariablePart(tuple(deposits), b"", 0)
    ends[0].take(ends[1].countersign(ends[0].propose(opening), opening))
    held = 0
    for end, amount in zip(ends, deposits, strict=True):
        if amount:
            end.deposit(amount, held)
            held += amount
    return ends


def signers_of(domain: m.Domain, channel_id: bytes, proof: Proof) -> list[tuple[VariablePart, tuple[str, ...]]]:
    """Each state of `proof` with the addresses its signatures recover to in `domain` for `channel_id` (what
    `rules.check_support` takes): a signature made for another channel, chain or adjudicator recovers to
    somebody else."""
    return [(state, tuple(m.signer_of(domain, channel_id, state, sig) for sig in sigs)) for state, sigs in proof]


@dataclass
class Hub:
    """The hub's ends of the two ledgers a virtual channel runs through, and what it knows of the virtual
    channels it guarantees: their setup, checked before it funds them, kept so that it can challenge one
    whose participants both went silent (`challenge_virtual`) and get its guarantee back. With stores, each
    setup is committed to L_B's file before the hub signs any guarantee for it, and `Hub.restore` brings it
    back after a crash: without it, a hub dying between funding and the end of a virtual channel could no
    longer challenge it. The same file keeps the newest state of each channel the hub was shown since
    (`offer_virtual_state`, and the final state it checked when releasing), the channels it released (never
    funded again) and those it asked to leave (`leave`); `guarantor.GuarantorWatcher` acts on all of it."""

    with_alice: Ledger  # L_A = [alice, hub]
    with_bob: Ledger  # L_B = [hub, bob]
    payment_app: str = field(kw_only=True)  # the SingleDirectionPayment whose twin rule checks V's moves
    max_challenge_duration: int = field(kw_only=True)  # seconds: the longest a challenge of V locks a guarantee
    virtual: dict[bytes, tuple[FixedPart, list[tuple[VariablePart, bytes]]]] = field(default_factory=dict)
    proofs: dict[bytes, Proof] = field(default_factory=dict)  # V -> the newest proof shown to the hub since setup
    released: dict[bytes, int] = field(default_factory=dict)  # V -> when the hub released its guarantees
    leaving: dict[bytes, int] = field(default_factory=dict)  # V -> since when the hub wants out

    @property
    def domain(self) -> m.Domain:
        return self.with_bob.domain

    @property
    def _store(self) -> StateStore | None:
        return self.with_bob.store

    @classmethod
    def restore(cls, with_alice: StateStore, with_bob: StateStore, chain, adjudicator, account: LocalAccount, *,
                payment_app: str, max_challenge_duration: int) -> Hub:
        """The hub as its two ledger files left it: each end (`Ledger.restore`), every setup it checked,
        checked again (what it would challenge with must still be a proof the Adjudicator accepts, on the
        app and within the bound given here), every newer state it was shown (checked again), the channels
        it released and those it asked to leave."""
        hub = cls(Ledger.restore(with_alice, chain, adjudicator, account),
                  Ledger.restore(with_bob, chain, adjudicator, account),
                  payment_app=payment_app, max_challenge_duration=max_challenge_duration)
        for virtual, setup in with_bob.load_virtual_setups():
            try:
                hub._verify(virtual, setup, setup[-1][0].outcome[0] if setup else 0)
            except L2Error as exc:
                raise e.StateChannelStorageError(f"{with_bob.path} holds a setup for virtual channel "
                                                 f"{virtual.channel_id.hex()} that does not check: {exc}") from None
            hub.virtual[virtual.channel_id] = (virtual, setup)
        for channel_id, proof in with_bob.load_virtual_proofs().items():
            try:
                hub.prove(channel_id, proof)
            except L2Error as exc:
                raise e.StateChannelStorageError(f"{with_bob.path} holds a state of virtual channel "
                                                 f"{channel_id.hex()} that does not check: {exc}") from None
            hub.proofs[channel_id] = proof
        hub.released, hub.leaving = with_bob.load_virtual_releases(), with_bob.load_virtual_leaving()
        for channel_id in (*hub.released, *hub.leaving):
            if channel_id not in hub.virtual:
                raise e.StateChannelStorageError(f"{with_bob.path} releases or leaves virtual channel "
                                                 f"{channel_id.hex()}, which it holds no setup of")
        return hub

    def _verify(self, virtual: FixedPart, proof: list[tuple[VariablePart, bytes]], amount: int) -> VariablePart:
        signed = signers_of(self.domain, virtual.channel_id, [(state, [sig]) for state, sig in proof])
        return check_virtual_setup(virtual, signed, amount, self.with_alice.counterparty, self.with_bob.counterparty,
                                   self.payment_app, self.max_challenge_duration)

    def check_setup(self, virtual: FixedPart, proof: list[tuple[VariablePart, bytes]], amount: int) -> None:
        """Refuse to guarantee anything but a set-up virtual channel between our two ledger counterparties
        on the payment app we know, with a challenge duration within our bound, paying `amount`, all to its
        payer (`rules.check_virtual_setup`). A setup that passes is on disk before this returns, so before
        any guarantee for it is signed; one that fails is not kept at all. A channel already set up keeps
        its first setup: another one for it is refused; a channel we released is never set up again."""
        if virtual.channel_id in self.released:
            raise e.ChannelReleased(f"virtual channel {virtual.channel_id.hex()} was released: it is not funded again")
        proof = list(proof)
        self._verify(virtual, proof, amount)
        known = self.virtual.get(virtual.channel_id)
        if known is not None:
            if known != (virtual, proof):
                raise e.LedgerUpdateRefused(f"virtual channel {virtual.channel_id.hex()} is already set up "
                                            "with another proof")
            return
        if self._store is not None:
            self._store.save_virtual_setup(virtual, proof)
        self.virtual[virtual.channel_id] = (virtual, proof)

    def _known(self, channel_id: bytes) -> FixedPart:
        known = self.virtual.get(channel_id)
        if known is None:
            raise e.NothingToDo(f"no checked setup for virtual channel {channel_id.hex()}: check_setup first")
        return known[0]

    def _guarantees(self, channel_id: bytes) -> tuple[Guarantee, Guarantee]:
        virtual = self._known(channel_id)
        if channel_id in self.released:
            raise e.ChannelReleased(f"virtual channel {channel_id.hex()} was released: it is not funded again")
        return guarantees_for(virtual, self.virtual[channel_id][1][-1][0].outcome[0], self.with_alice.fixed,
                              self.with_bob.fixed)

    def countersign_guarantee(self, message, channel_id: bytes) -> dict:
        """Sign Alice's L_A update if it is exactly the one funding her guarantee for a virtual channel
        whose setup we checked and stored. If L_A already holds that guarantee, only the state we both
        signed is accepted, and answered with our signature again (our answer was lost in a crash)."""
        ledger = self.with_alice
        g_a = self._guarantees(channel_id)[0]
        latest = ledger.newest
        expected = latest if _guarantee_index(latest, channel_id) is not None else fund_guarantee(latest, g_a)
        return ledger.countersign(message, expected)

    def propose_guarantee(self, channel_id: bytes) -> dict:
        """Our L_B update funding Bob's guarantee for a virtual channel whose setup we checked and stored
        (proposed again, the same state and signature, if Bob's answer never came)."""
        ledger = self.with_bob
        g_b = self._guarantees(channel_id)[1]
        if _guarantee_index(ledger.latest, channel_id) is not None:
            raise e.NothingToDo(f"L_B already guarantees virtual channel {channel_id.hex()}")
        return ledger.propose(fund_guarantee(ledger.newest, g_b))

    # --- what the hub knows of a virtual channel after its setup -------------------------------------

    def setup_proof(self, channel_id: bytes) -> Proof:
        self._known(channel_id)
        return [(state, [sig]) for state, sig in self.virtual[channel_id][1]]

    def prove(self, channel_id: bytes, proof: Proof) -> VariablePart:
        """The state of virtual channel `channel_id` that `proof` supports (`rules.check_support` with the
        payment rule, every signature recovered for this channel in this hub's domain): a state of another
        channel, or one signed by anyone but its mover (or, for one state, by anyone but all of them, in
        order), is refused with the rule it breaks."""
        return check_support(self._known(channel_id), signers_of(self.domain, channel_id, proof), APPS["payment"])

    def offer_virtual_state(self, channel_id: bytes, moves: list[dict]) -> VariablePart:
        """Take a newer state of a virtual channel we guarantee, from anyone (its payee, say: a hub that
        challenges V with it never ends V on less than the payee holds). `moves` are wire moves
        (`messages.encode_move`) of V: n consecutive states, each signed by its mover, or one state once per
        participant, in participant order, each with that participant's signature (a final state, say). It
        is checked (`prove`), then, if newer than every state of V the hub holds, stored and kept. Returns
        the state it proves."""
        proof: Proof = []
        for move in moves:
            move_channel, state, signature = m.decode_move(move)
            if move_channel != channel_id:
                raise e.WrongChannel(f"a move of channel {move_channel.hex()} offered for {channel_id.hex()}")
            if proof and proof[-1][0] == state:
                proof[-1][1].append(signature)
            else:
                proof.append((state, [signature]))
        state = self.prove(channel_id, proof)
        held = self.proofs.get(channel_id, self.setup_proof(channel_id))[-1][0]
        if (state.turn_num, state.is_final) > (held.turn_num, held.is_final):
            if self._store is not None:
                self._store.save_virtual_proof(channel_id, proof)
            self.proofs[channel_id] = proof
        return state

    def leave(self, channel_id: bytes, now: int) -> None:
        """Ask to leave a virtual channel we guarantee: from `now` on, the guarantor watcher challenges it
        once its participants have stayed silent on Layer 1 for its patience (kept on disk; the first
        request counts)."""
        self._known(channel_id)
        if channel_id in self.leaving:
            return
        if self._store is not None:
            self._store.save_virtual_leaving(channel_id, now)
        self.leaving[channel_id] = now

    def release(self, channel_id: bytes, final: VariablePart, signatures: dict[int, bytes], now: int) -> None:
        """Agree to release both guarantees of a virtual channel by its final state: it must be final and
        signed by both participants (`prove`). The channel is marked released, with that state, on disk
        before the hub signs any release: it is never funded again, and if a ledger still ends up holding one
        of its guarantees the hub can conclude it on Layer 1 with that state."""
        virtual = self._known(channel_id)
        proof: Proof = [(final, [signatures.get(i, b"") for i in range(virtual.n)])]
        if not final.is_final:
            raise e.NotFinal(f"V's state {final.turn_num} is not final: no release")
        try:
            self.prove(channel_id, proof)
        except InvalidSignature:
            raise e.NotSignedByAll("V's final state is not signed by both its participants") from None
        if channel_id in self.released:
            return
        if self._store is not None:
            self._store.save_virtual_release(channel_id, proof, now)
        self.released[channel_id] = now
        self.proofs[channel_id] = proof

    # --- Layer 1 ------------------------------------------------------------------------------------

    def _guarantor_proof(self, channel_id: bytes) -> tuple:
        """A ledger state both its participants signed holding a guarantee for V, and its index (L_B's
        newest if it holds one, else L_A's): what lets the hub challenge V without being in it."""
        for ledger in (self.with_bob, self.with_alice):
            index = _guarantee_index(ledger.latest, channel_id)
            if index is not None:
                return (ledger.fixed.as_tuple(), ledger._signed(), index)
        raise e.NothingToDo(f"neither ledger holds a guarantee for virtual channel {channel_id.hex()}: "
                            "nothing at stake")

    def challenge_virtual(self, channel_id: bytes, proof: Proof | None = None):
        """Challenge a virtual channel we guarantee with `proof` (by default the newest non-final state we
        hold: its setup, or a newer one shown to us): if its participants are alive they answer with their
        newest, if not it ends there."""
        virtual = self._known(channel_id)
        if proof is None:
            shown = self.proofs.get(channel_id)
            proof = shown if shown is not None and not shown[-1][0].is_final else self.setup_proof(channel_id)
        guarantor = self._guarantor_proof(channel_id)
        ledger = self.with_bob
        sig = ledger.signer.sign(m.challenge_digest(ledger.domain, channel_id, proof[-1][0]))
        return ledger.chain.transact(ledger.adjudicator.functions.challengeAsGuarantor(
            virtual.as_tuple(), [m.signed_tuple(state, sigs) for state, sigs in proof], guarantor,
            m.sig_tuple(sig)), ledger.account)

    def checkpoint_virtual(self, channel_id: bytes, proof: Proof):
        """Record a newer supported state of V over a stale challenge (anyone may checkpoint)."""
        virtual, ledger = self._known(channel_id), self.with_bob
        return ledger.chain.transact(ledger.adjudicator.functions.checkpoint(
            virtual.as_tuple(), [m.signed_tuple(state, sigs) for state, sigs in proof]), ledger.account)

    def conclude_virtual(self, channel_id: bytes, proof: Proof):
        """Finalize V at once with a final state both its participants signed (anyone may submit it)."""
        virtual, ledger = self._known(channel_id), self.with_bob
        [(final, sigs)] = proof
        return ledger.chain.transact(ledger.adjudicator.functions.conclude(
            virtual.as_tuple(), m.signed_tuple(final, sigs)), ledger.account)


def _guarantee_index(ledger: VariablePart | None, channel_id: bytes) -> int | None:
    """Where the ledger state's guarantee for `channel_id` sits, None if it has none."""
    if ledger is None or not ledger.app_data:
        return None
    return next((i for i, g in enumerate(decode_guarantees(ledger.app_data)) if g.target == channel_id), None)


def guarantees_for(virtual: FixedPart, amount: int, ledger_a: FixedPart | None = None,
                   ledger_b: FixedPart | None = None) -> tuple[Guarantee, Guarantee]:
    """(L_A's, L_B's) guarantees for V = [alice, bob]: Alice funds hers from L_A and is its beneficiary; the
    hub funds L_B's and Bob is its beneficiary. Ledgers default to [alice, hub] and [hub, bob]."""
    alice, bob = virtual.participants
    in_a = ledger_a.participants.index(alice) if ledger_a else 0
    in_b = ledger_b.participants.index(bob) if ledger_b else 1
    return (Guarantee(virtual.channel_id, amount, in_a, 0, in_a),
            Guarantee(virtual.channel_id, amount, in_b, 1, 1 - in_b))


def fund_virtual(alice_ledger: Ledger, hub: Hub, bob_ledger: Ledger, alice: Party, bob: Party) -> None:
    """Fund V (already set up by Alice and Bob, outcome (x, 0)) with a guarantee in each ledger."""
    amount = alice.newest.total
    if alice.newest.outcome[1] != 0 or alice.turn_num < alice.fixed.n - 1:
        raise e.LedgerUpdateRefused("a virtual channel is funded once set up, paying everything to the payer")
    hub.check_setup(alice.fixed, [alice.states[t] for t in range(alice.fixed.n)], amount)  # stored first
    g_a, g_b = guarantees_for(alice.fixed, amount, alice_ledger.fixed, bob_ledger.fixed)
    expected_a = fund_guarantee(alice_ledger.newest, g_a)
    alice_ledger.take(hub.countersign_guarantee(alice_ledger.propose(expected_a), alice.channel_id))
    expected_b = fund_guarantee(bob_ledger.newest, g_b)
    hub.with_bob.take(bob_ledger.countersign(hub.propose_guarantee(alice.channel_id), expected_b))
    alice.funded_by_guarantees = bob.funded_by_guarantees = True  # both guarantees signed: payments may start


def close_virtual(alice_ledger: Ledger, hub: Hub, bob_ledger: Ledger, alice: Party, bob: Party) -> None:
    """Cooperative close with no Layer-1 transaction: Alice and Bob sign V's final state, then each ledger
    releases its guarantee by that outcome (the hub checks both signatures on V's final state first)."""
    proposal = alice.propose_conclusion()
    alice.take_conclusion(bob.countersign_conclusion(proposal))
    if alice.final is None:
        raise e.NothingToDo("V has no final state")
    final, sigs = alice.final
    # The hub checks both signatures on V's final state and marks V released before it releases anything.
    hub.release(alice.channel_id, final, sigs, hub.with_bob.chain.now())
    expected_a = release_guarantee(alice_ledger.newest, alice.channel_id, final.outcome)
    alice_ledger.take(hub.with_alice.countersign(alice_ledger.propose(expected_a), expected_a))
    expected_b = release_guarantee(hub.with_bob.newest, alice.channel_id, final.outcome)
    hub.with_bob.take(bob_ledger.countersign(hub.with_bob.propose(expected_b), expected_b))


def conclude_ledger(first: Ledger, second: Ledger):
    """Both ends sign the ledger's final state; the first submits it (one transaction pays both)."""
    final = first.final_state()
    first.take(second.countersign(first.propose(final), final))
    return first.conclude()


class LedgerWatcher:
    """A service watching one end of a ledger channel: checkpoints its newest state over a stale challenge
    (a hub closing on the state before a release that paid us), then, once the ledger is final, pays out its
    outcome and every guarantee whose virtual channel is final too."""

    def __init__(self, ledger: Ledger, virtual: dict[bytes, Party] | None = None, *, name: str = "ledger watcher"):
        self.ledger = ledger
        self.virtual = virtual or {}  # channel id -> our end of each virtual channel it may guarantee
        self.name = name
        self.actions: list[str] = []
        self.claimed: set[int] = set()

    def step(self, urgent: bool = False) -> list[Event]:
        ledger = self.ledger
        chain, adj = ledger.chain, ledger.adjudicator
        turn, finalizes_at, _ = chain.call(adj.functions.channelRecord(ledger.channel_id))
        now = chain.now()
        events = []
        newest = ledger.newest
        if finalizes_at > now and newest.turn_num > turn:
            receipt = ledger.checkpoint()
            self.actions.append("checkpoint")
            events.append(Event(self.name, f"checkpointed turn {newest.turn_num} over a challenge on turn "
                                           f"{turn} ({receipt.gasUsed:,} gas)"))
        elif finalizes_at and finalizes_at <= now:
            recorded = _recorded(ledger, turn, finalizes_at)
            if recorded is not None and recorded != newest:
                return events  # final on a state we do not hold: nothing we can prove
            if ledger.held() and any(_owed(ledger, turn, finalizes_at)):
                receipt = ledger.transfer()
                self.actions.append("transfer")
                events.append(Event(self.name, f"paid out the ledger ({receipt.gasUsed:,} gas)"))
            for index, g in enumerate(decode_guarantees(newest.app_data) if newest.app_data else ()):
                target = self.virtual.get(g.target)
                if index in self.claimed or target is None:
                    continue
                target_chain = target.onchain()
                if target_chain.status(now) != "final" or target_chain.recorded is None:
                    continue
                receipt = ledger.claim(target, target_chain.recorded)
                self.claimed.add(index)
                self.actions.append("claim")
                events.append(Event(self.name, f"claimed the guarantee for {g.target.hex()[:10]}… "
                                               f"({receipt.gasUsed:,} gas)"))
        return events


def _recorded(ledger: Ledger, turn: int, finalizes_at: int) -> VariablePart | None:
    """The state a ledger's record holds, from its `Challenged` event (None if concluded)."""
    for log in ledger.adjudicator.events.Challenged().get_logs(from_block=0,
                                                              argument_filters={"channelId": ledger.channel_id}):
        if log.args.turnNumRecord == turn and log.args.finalizesAt == finalizes_at:
            s = log.args.state
            return VariablePart(tuple(s.outcome), bytes(s.appData), s.turnNum, s.isFinal)
    return None


def _owed(ledger: Ledger, turn: int, finalizes_at: int) -> tuple[int, ...]:
    owed = ledger.newest.outcome
    for log in ledger.adjudicator.events.Paid().get_logs(from_block=0,
                                                         argument_filters={"channelId": ledger.channel_id}):
        owed = tuple(o - p for o, p in zip(owed, log.args.amounts, strict=True))
    return owed
