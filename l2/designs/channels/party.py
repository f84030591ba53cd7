"""One end of a payment channel: the shell around `rules` that signs, stores and talks to Layer 1.

Message flow of a payment (in-process delivery; every message is a JSON-ready dict):

    payer.pay(amount)          -> {"type": "BalanceProof", "proof": ..., "signature": payer's}
    receiver.receive(msg)      -> {"type": "BalanceProofAck", ..., "signature": receiver's}
    payer.receive_ack(ack)     -> both now hold the co-signed proof

Each side commits the state to its `ChannelStore` (if it has one) before it sends
or acknowledges anything. Any ProtocolViolation leaves the party unchanged: the
new state is built, checked, stored and only then assigned.

The receiver verifies the payer's signature at once. The payer only format-checks
the acknowledgement and verifies it before any Layer-1 use (`check_acks`): with
running totals an ack merely records the payer's own payment, so it can never be
worth more to the payer than the state before it. That keeps one payment at three
ECDSA operations (sign, verify, counter-sign) instead of four.

A cooperative close is bound to Layer 1's running totals and to an expiry (see
`rules.CooperativeClose`); whoever signed one takes part in no payment while it can
still be submitted (`CooperativeCloseSigned`), and remembers that on disk.

Crossing payments (both sides propose the same nonce at once) are resolved without a
round trip: A's proposal wins. A refuses B's (`CrossingRefused`); B acknowledges A's,
drops its own and proposes its payment again on top (`resend_pending()` returns it;
`pay()` below delivers it). See `rules.check_not_concurrent`.

Once the channel is closing, closed or settled on Layer 1, every operation that would
sign or send something for it raises `ChannelClosed`. The party learns it from its own
close, settle or cooperative close at once, from its watcher (`observe`), and, before
each counter-signature, from Layer 1 itself: read again only when a new block has been
mined (`_layer1_status`), since nothing on Layer 1 changes between blocks.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from l2.designs.channels import rules
from l2.designs.channels.errors import (
    ChannelBalanceTooLow,
    ChannelClosed,
    ChannelStorageError,
    CooperativeCloseSigned,
    CrossingRefused,
    InvalidAmount,
    NonceNotNext,
    Overspend,
    UpdateInFlight,
    WrongChannel,
)
from l2.designs.channels.messages import (
    ChannelDomain,
    Signer,
    balance_proof_digest,
    check_signer,
    cooperative_close_digest,
    decode_balance_proof_ack,
    decode_balance_proof_message,
    decode_cooperative_close_message,
    decode_withdraw_message,
    withdraw_digest,
)
from l2.designs.channels.rules import (
    ZERO_ADDRESS,
    A,
    AgreedWithdraw,
    B,
    ChannelParams,
    CooperativeClose,
    Funding,
)
from l2.designs.channels.storage import ChannelStore, SignedProof
from l2.errors import InputError, InvalidSignature

ERC20_ABI = [
    {
        "type": "function",
        "name": "approve",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [],
    },
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    },
]

STATUS_NONE, STATUS_OPEN, STATUS_CLOSED_BY_A, STATUS_CLOSED_BY_B = 0, 1, 2, 3
# The registry's status only moves forward: open, then closing (by A or by B), then gone (settled,
# or closed cooperatively: STATUS_NONE again). A read older than what we know is ignored.
_STAGE = {STATUS_OPEN: 0, STATUS_CLOSED_BY_A: 1, STATUS_CLOSED_BY_B: 1, STATUS_NONE: 2}
_STATUS_TEXT = {STATUS_CLOSED_BY_A: "closing (participant A closed it)",
                STATUS_CLOSED_BY_B: "closing (participant B closed it)", STATUS_NONE: "settled"}

# Default lifetime of a cooperative close we sign (seconds after the latest block): long enough
# to get it mined, short because until then this party accepts no payments on the channel.
COOPERATIVE_CLOSE_LIFETIME = 3600


def _hex(data: bytes | None) -> str | None:
    return None if data is None else "0x" + data.hex()


def _check_uint(value, what: str, bits: int, *, positive: bool) -> int:
    """`value` as an amount or expiry this party was given: an int (not a bool), within uint`bits`."""
    low = 1 if positive else 0
    if type(value) is not int or not low <= value < 1 << bits:
        kind = "a positive integer" if positive else "a non-negative integer"
        raise InvalidAmount(f"{what} must be {kind} below 2**{bits}, got {value!r}")
    return value


class Party:
    """One participant's view of one channel."""

    def __init__(
        self,
        params: ChannelParams,
        domain: ChannelDomain,
        private_key: bytes,
        *,
        chain=None,
        registry=None,
        account=None,
        store: ChannelStore | None = None,
        funding: Funding | None = None,
        latest: SignedProof | None = None,
    ):
        self.params = params
        self.domain = domain
        self.signer = Signer(private_key)
        self.side = params.side_of(self.signer.address)
        self.partner_side = rules.other(self.side)
        self.chain = chain
        self.registry = registry
        self.account = account
        self.store = store
        # Layer 1's totals as last read: deposits and the withdrawals it has actually paid out.
        self.onchain = funding or Funding()
        # Withdrawals both of us signed that Layer 1 has not paid yet but still may (not expired).
        self.withdrawals: tuple[AgreedWithdraw, ...] = ()
        # What payments may spend: `onchain` less the withdrawals in flight (see `_track_withdrawals`).
        self.funding = self.onchain
        self.latest = latest or SignedProof(rules.initial_proof(params))
        # Newest state whose partner signature we have verified: what we may submit on Layer 1.
        # States we receive are verified at once; an acknowledgement of our own payment is only
        # format-checked on arrival and verified (`check_acks`) before any Layer-1 use. With
        # running totals an ack can never be worth more to us than the state before it (it only
        # records that we paid), so a forged ack costs us nothing but is still detected.
        self.verified = self.latest
        self._unchecked_ack: tuple[SignedProof, bytes] | None = None
        self.violations: list[str] = []
        self.pending: SignedProof | None = None  # our signed proposal, not yet counter-signed
        self._pending_digest: bytes | None = None
        self._pending_json: dict | None = None
        # Acknowledged states not yet on disk, for the same reason: they are written with our
        # next write (one fsync for both) or by `flush()` before any Layer-1 use. After a crash
        # in between we still hold our own proposal; `resend_pending` re-delivers it and the
        # partner, already past it, answers with the same ack (`receive` is idempotent).
        self._unsaved: list[SignedProof] = []
        # The cooperative close we signed that Layer 1 may still accept: while it can, we take part
        # in no payment (`_refuse_while_close_signed`), or the partner could be paid or pay
        # off-chain and still cash the older balances.
        self.signed_close: CooperativeClose | None = None
        # The channel's status on Layer 1 as last learnt, and the block it was read at (None: not
        # read by block). A party is made for an open channel; an offline one never learns more.
        self.status = STATUS_OPEN
        self._status_block: int | None = None
        if store is not None:
            store.save_channel(params, self.signer.address, domain.chain_id, domain.registry)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def open(cls, chain, registry, account, partner: str, *, token: str = ZERO_ADDRESS, challenge_period: int,
             deposit: int = 0, store: ChannelStore | None = None) -> tuple[Party, Any]:
        """Open a channel on Layer 1 (with an optional first deposit); returns (party, receipt)."""
        token = to_checksum_address(token)
        if token != ZERO_ADDRESS and deposit:
            erc20 = chain.w3.eth.contract(address=token, abi=ERC20_ABI)
            chain.transact(erc20.functions.approve(registry.address, deposit), account)
        value = deposit if token == ZERO_ADDRESS else 0
        receipt = chain.transact(
            registry.functions.open(to_checksum_address(partner), token, challenge_period,
                                    deposit), account, value=value
        )
        (event,) = chain.events(receipt, registry, "ChannelOpened")
        params = ChannelParams(event.participantA, event.participantB, event.token, event.challengePeriod, event.nonce)
        party = cls.join(chain, registry, account, params, store=store)
        return party, receipt

    @classmethod
    def _connected(cls, chain, registry, account, params: ChannelParams, store: ChannelStore | None, **state) -> Party:
        """A party bound to `registry` on `chain`, signing as `account` (the one constructor of join and restore)."""
        return cls(
            params,
            ChannelDomain(chain.chain_id, registry.address),
            bytes(account.key),
            chain=chain,
            registry=registry,
            account=account,
            store=store,
            **state,
        )

    @classmethod
    def join(cls, chain, registry, account, params: ChannelParams, *, store: ChannelStore | None = None) -> Party:
        """The party for `account` in an existing channel (its funding read from Layer 1)."""
        party = cls._connected(chain, registry, account, params, store)
        party.refresh_funding()
        return party

    @classmethod
    def restore(cls, chain, registry, account, store: ChannelStore, channel_id: bytes | None = None) -> Party:
        """Rebuild a party from its database after a crash: latest co-signed proof, pending proposal, withdrawals."""
        stored = store.channel(channel_id)
        if stored.chain_id != chain.chain_id or stored.registry != registry.address:
            raise ChannelStorageError(
                f"{store.path} belongs to registry {stored.registry} on chain {stored.chain_id}, "
                f"not {registry.address} on chain {chain.chain_id}"
            )
        if stored.me != account.address:
            raise ChannelStorageError(f"{store.path} belongs to {stored.me}, not {account.address}")
        params = stored.params
        party = cls._connected(chain, registry, account, params, store, latest=store.latest_complete(params.channel_id))
        candidate = party.latest
        while candidate.proof.nonce > 0:  # find the newest stored state the partner provably signed
            digest = balance_proof_digest(party.domain, candidate.proof)
            try:
                check_signer(digest, getattr(candidate, party._sig_field(party.partner_side)),
                             params.address_of(party.partner_side), "stored BalanceProof")
                break
            except InvalidSignature as exc:
                party.violations.append(str(exc))
                candidate = store.latest_complete(params.channel_id, below=candidate.proof.nonce) or SignedProof(
                    rules.initial_proof(params)
                )
        party.verified = candidate
        nxt = store.proof_at(params.channel_id, party.latest.proof.nonce + 1)
        if nxt is not None and not nxt.complete:
            party._set_pending(nxt)
        # Every stored withdrawal counts until Layer 1 says it was paid or has expired: the refresh
        # drops (and deletes) those, so one that expired unsubmitted before the crash stays gone.
        party.withdrawals = tuple(
            AgreedWithdraw(params.side_of(participant), total, expiry)
            for participant, total, expiry, _sa, _sb in store.withdraws(params.channel_id)
        )
        party.signed_close = store.signed_close(params.channel_id)
        party.refresh_funding()
        return party

    # ------------------------------------------------------------------ views

    @property
    def address(self) -> str:
        return self.signer.address

    @property
    def channel_id(self) -> bytes:
        return self.params.channel_id

    @property
    def nonce(self) -> int:
        return self.latest.proof.nonce

    def balance(self, side: str | None = None) -> int:
        """Balance of `side` (default: this party) under the latest co-signed proof."""
        return rules.balance(self.funding, self.latest.proof, side or self.side)

    @property
    def partner_balance(self) -> int:
        return self.balance(self.partner_side)

    # ------------------------------------------------------------------ Layer-1 status

    @property
    def closed(self) -> bool:
        """Whether the channel is known to be closing, closed or settled on Layer 1."""
        return self.status != STATUS_OPEN

    def observe(self, status: int, block: int | None = None) -> None:
        """Learn the channel's Layer-1 status (read at `block`): from our own transactions, our
        watcher, or our own reads. Only ever moves forward (see `_STAGE`)."""
        if _STAGE[status] >= _STAGE[self.status]:
            self.status = status
        if block is not None and (self._status_block is None or block > self._status_block):
            self._status_block = block

    def _refuse_if_closed(self) -> None:
        """ChannelClosed if we know the channel is no longer open (no Layer-1 read: the hot path)."""
        if self.status != STATUS_OPEN:
            raise ChannelClosed(
                f"channel 0x{self.channel_id.hex()} is {_STATUS_TEXT[self.status]} on Layer 1: no more payments, "
                f"withdrawals, deposits or cooperative closes on it"
            )

    def _layer1_status(self) -> int:
        """The channel's status as of the latest block: read again only when a block was mined since
        the last read (ours or our watcher's). Nothing on Layer 1 changes between blocks, so this is
        exactly what a read per call would say, at one block-number query per call instead of a
        contract call (about 25 times cheaper on the embedded chain)."""
        if self.chain is None or self.status == STATUS_NONE:
            return self.status
        block = self.chain.block_number()
        if block != self._status_block:
            channel, _ = self.chain.call(self.registry.functions.channelState(self.channel_id))
            self.observe(channel[3], block)
        return self.status

    def refresh_status(self) -> int:
        """The channel's Layer-1 status (0 none/settled, 1 open, 2/3 closing), read if a block was mined."""
        return self._layer1_status()

    def _check_open_on_layer1(self) -> None:
        """ChannelClosed unless the channel is open as of the latest block (before we counter-sign or
        transact: a signature on a channel that is closing or gone is worthless and misleading)."""
        self._refuse_if_closed()
        self._layer1_status()
        self._refuse_if_closed()

    # ------------------------------------------------------------------ payments

    def _sig_field(self, side: str) -> str:
        return "sig_a" if side == A else "sig_b"

    def pay(self, amount: int) -> dict:
        """Sign the next state paying `amount` to the partner; returns the message to deliver."""
        self._refuse_if_closed()
        if self.signed_close is not None:
            self._refuse_while_close_signed()
        if self.pending is not None:
            raise UpdateInFlight(
                f"update with nonce {self.pending.proof.nonce} is still waiting for the partner's signature"
            )
        proof = self._with_fresh_funding(
            lambda: rules.next_payment(self.funding, self.latest.proof, self.side, amount), ChannelBalanceTooLow
        )
        digest = balance_proof_digest(self.domain, proof)
        signature = self.signer.sign(digest)
        pending = SignedProof(proof, **{self._sig_field(self.side): signature})
        self._save(pending)
        self._set_pending(pending, digest)
        assert self._pending_json is not None  # set just above, from `pending`
        # A copy: the caller may change the message it is given; our own JSON must stay as signed.
        return {"type": "BalanceProof", "proof": dict(self._pending_json), "signature": _hex(signature)}

    def _set_pending(self, pending: SignedProof | None, digest: bytes | None = None) -> None:
        self.pending = pending
        self._pending_digest = digest
        self._pending_json = None if pending is None else pending.proof.to_json()

    def resend_pending(self) -> dict | None:
        """Our proposal awaiting the partner's signature, to send (again): after a restart, after a
        crossing we lost (our payment proposed again on top of the winner's), or after a refusal.
        Always the same one: we never sign two of our own proposals with one nonce."""
        if self.pending is None:
            return None
        sig = getattr(self.pending, self._sig_field(self.side))
        return {"type": "BalanceProof", "proof": self.pending.proof.to_json(), "signature": _hex(sig)}

    def receive(self, message: dict) -> dict:
        """Validate the partner's payment, counter-sign it, store it, return the acknowledgement.

        If it crosses our own pending proposal (the same nonce): as A we refuse it (CrossingRefused,
        nothing changes); as B we acknowledge it, and our payment is proposed again on top of it,
        signed and stored in the same write (`resend_pending()` returns it).
        """
        proof, signature = decode_balance_proof_message(message)
        self._refuse_if_closed()
        if proof == self.latest.proof and proof.nonce > 0:
            # The partner lost our ack in a crash and re-delivers: answer again, change nothing.
            check_signer(balance_proof_digest(self.domain, proof), signature,
                         self.params.address_of(self.partner_side), "BalanceProof")
            my_sig = getattr(self.latest, self._sig_field(self.side))
            return {"type": "BalanceProofAck", "proof": message["proof"], "signature": _hex(my_sig)}
        if self.signed_close is not None:
            self._refuse_while_close_signed()
        lost = self.pending
        try:
            crossing = rules.check_not_concurrent(lost.proof if lost else None, proof, self.side)
        except CrossingRefused as refused:
            raise CrossingRefused(str(refused), self.resend_pending()) from None
        self._with_fresh_funding(
            lambda: rules.validate_update(self.funding, self.latest.proof, proof, self.partner_side), Overspend
        )
        digest = balance_proof_digest(self.domain, proof)
        check_signer(digest, signature, self.params.address_of(self.partner_side), "BalanceProof")
        again = (rules.repropose(self.funding, self.latest.proof, lost.proof, proof, self.side)
                 if crossing and lost else None)
        self._check_open_on_layer1()
        my_sig = self.signer.sign(digest)
        signed = SignedProof(proof, **{self._sig_field(self.partner_side): signature,
                                       self._sig_field(self.side): my_sig})
        if again is None:
            self._save(signed)
        else:
            # One write: the acknowledgement replaces our refused proposal at this nonce (the store keys
            # by nonce), so a restart can never resurrect it as pending; the payment goes on at the next.
            again_digest = balance_proof_digest(self.domain, again)
            again_signed = SignedProof(again, **{self._sig_field(self.side): self.signer.sign(again_digest)})
            self._save(signed, again_signed)
            self._set_pending(again_signed, again_digest)
        self.latest = self.verified = signed
        self._unchecked_ack = None
        return {"type": "BalanceProofAck", "proof": message["proof"], "signature": _hex(my_sig)}

    def receive_ack(self, message: dict) -> None:
        """The partner counter-signed our proposal: it becomes the latest co-signed state."""
        pending = self.pending
        ours = None if pending is None or self._pending_json is None else (self._pending_json, pending.proof)
        proof, signature = decode_balance_proof_ack(message, ours)
        self._refuse_if_closed()
        if pending is None:
            raise NonceNotNext("acknowledgement for an update we did not send (replayed?)")
        if proof != pending.proof:
            raise NonceNotNext(f"acknowledgement is for nonce {proof.nonce}, not our update {pending.proof.nonce}")
        digest = self._pending_digest or balance_proof_digest(self.domain, proof)
        own = getattr(pending, self._sig_field(self.side))
        signed = SignedProof(proof, own, signature) if self.side == A else SignedProof(proof, signature, own)
        if self.store is not None:
            self._unsaved.append(signed)
        self.latest = signed
        self._unchecked_ack = (signed, digest)
        self._set_pending(None)

    def check_acks(self) -> SignedProof:
        """Verify the partner's signature on the newest acknowledgement; return the newest verified state.

        Raises InvalidSignature if the partner acknowledged with a bad signature; `verified` then
        stays at the previous state, which is worth at least as much to us.
        """
        if self._unchecked_ack is not None:
            signed, digest = self._unchecked_ack
            self._unchecked_ack = None
            check_signer(digest, getattr(signed, self._sig_field(self.partner_side)),
                         self.params.address_of(self.partner_side), "BalanceProofAck")
            self.verified = signed
        return self.verified

    def best_signed_by_partner(self) -> SignedProof:
        """The state to submit on Layer 1: the newest one the partner's signature provably covers."""
        try:
            return self.check_acks()
        except InvalidSignature as exc:
            self.violations.append(str(exc))
            return self.verified

    def _with_fresh_funding(self, check, short_of_funds: type[Exception]):
        """`check()`, retried once after re-reading Layer 1 if it fails with `short_of_funds`.

        Our view may be stale: the partner may have deposited, or an agreed withdrawal may have
        expired unsubmitted. Re-reading only on failure keeps payments free of Layer-1 calls.
        """
        try:
            return check()
        except short_of_funds:
            if self.chain is None:
                raise
            self.refresh_funding()
            return check()

    def _save(self, *signed: SignedProof) -> None:
        """Commit `signed` (with any acknowledged states not yet written) in one transaction before acting on it."""
        if self.store is not None:
            self.store.save_proofs([*self._unsaved, *signed])
            self._unsaved.clear()

    def flush(self) -> None:
        """Write acknowledged states still in memory (done before every Layer-1 action)."""
        if self.store is not None and self._unsaved:
            self.store.save_proofs(self._unsaved)
            self._unsaved.clear()

    # ------------------------------------------------------------------ Layer 1: funding

    def _require_chain(self):
        self.flush()
        if self.chain is None or self.registry is None or self.account is None:
            raise InputError("this party has no Layer-1 connection (offline party)")
        return self.chain

    def onchain_state(self):
        """(Channel tuple, closing balance of A) as the registry reports it."""
        chain = self._require_chain()
        return chain.call(self.registry.functions.channelState(self.channel_id))

    def _read_layer1(self) -> tuple[int, int, Funding]:
        """(latest block timestamp, channel status, running totals), the block read first: whatever
        Layer 1 did by then (a withdrawal paid, a close submitted) is in the state read after it."""
        chain = self._require_chain()
        block = chain.w3.eth.get_block("latest")
        channel, _ = self.onchain_state()
        deposit_a, deposit_b, _settle_at, status, withdrawn_a, withdrawn_b, _nonce = channel
        self.observe(status, block["number"])
        return block["timestamp"], status, Funding(deposit_a, deposit_b, withdrawn_a, withdrawn_b)

    def refresh_funding(self) -> Funding:
        """Read deposits and paid-out withdrawals (and the status) from Layer 1; drop agreed
        withdrawals paid or expired."""
        now, status, onchain = self._read_layer1()
        if status == STATUS_NONE:
            return self.funding  # settled: keep the last view (Layer 1 has zeroed the channel)
        self._track_withdrawals(onchain, self.withdrawals, now)
        return self.funding

    def _track_withdrawals(self, onchain: Funding, agreed, now: int | None) -> None:
        """Set the Layer-1 view and the withdrawals in flight; forget (on disk too) the rest.

        A paid withdrawal is counted once, in `onchain`; an expired unsubmitted one never
        leaves the channel, so counting it would understate a balance and make every later
        cooperative close disagree with the contract's totals.
        """
        in_flight = rules.withdrawals_in_flight(onchain, agreed, now)
        if self.store is not None:
            for gone in set(agreed) - set(in_flight):
                self.store.delete_withdraw(self.channel_id, self.params.address_of(gone.side), gone.total)
        self.onchain, self.withdrawals = onchain, in_flight
        self.funding = rules.effective_funding(onchain, in_flight)

    def _agree_withdraw(self, side: str, total: int, expiry: int, sig_a: bytes, sig_b: bytes) -> None:
        """Store a co-signed withdrawal (before anyone can submit it) and count it as in flight."""
        if self.store is not None:
            self.store.save_withdraw(self.channel_id, self.params.address_of(side), total, expiry, sig_a, sig_b)
        self._track_withdrawals(self.onchain, (*self.withdrawals, AgreedWithdraw(side, total, expiry)), None)

    def deposit(self, amount: int):
        """Add `amount` to our deposit on Layer 1 (approving the registry first for tokens).

        The registry credits what actually arrived (a fee-on-transfer token delivers less than
        `amount`); our funding is read back from Layer 1, so it counts the credited amount.
        """
        _check_uint(amount, "deposit amount", 256, positive=True)
        chain = self._require_chain()
        self._check_open_on_layer1()
        if self.params.token != ZERO_ADDRESS:
            token = chain.w3.eth.contract(address=self.params.token, abi=ERC20_ABI)
            chain.transact(token.functions.approve(self.registry.address, amount), self.account)
            value = 0
        else:
            value = amount
        receipt = chain.transact(self.registry.functions.deposit(self.params.as_tuple(), amount), self.account,
                                 value=value)
        self.refresh_funding()
        return receipt

    # ------------------------------------------------------------------ withdraw without closing

    def request_withdraw(self, amount: int, expiry: int) -> dict:
        """Ask the partner to co-sign a withdrawal of `amount` of our balance, valid until `expiry`."""
        _check_uint(amount, "withdraw amount", 256, positive=True)
        _check_uint(expiry, "withdraw expiry", 64, positive=False)
        self._refuse_if_closed()
        if self.chain is not None:
            self.refresh_funding()  # build on what Layer 1 paid, not on an expired agreement
            self._refuse_if_closed()
        if self.pending is not None:
            raise UpdateInFlight("finish the pending payment before withdrawing")
        self.flush()
        total = self.funding.withdrawn(self.side) + amount
        rules.validate_withdraw(self.funding, self.latest.proof, self.side, total)
        request = rules.Withdraw(self.channel_id, self.address, total, expiry)
        digest = withdraw_digest(self.domain, self.channel_id, self.address, total, expiry)
        return {"type": "Withdraw", **request.to_json(), "signature": _hex(self.signer.sign(digest))}

    def approve_withdraw(self, message: dict) -> dict:
        """Check and co-sign the partner's withdrawal; from now on we count it as withdrawn."""
        request, their_sig = decode_withdraw_message(message)
        self._refuse_if_closed()
        if request.channel_id != self.channel_id:
            raise WrongChannel(f"withdraw is for channel 0x{request.channel_id.hex()}, not 0x{self.channel_id.hex()}")
        participant = request.participant
        if participant != self.params.address_of(self.partner_side):
            raise WrongChannel(f"withdraw is for {participant}, who is not our partner")
        total, expiry = request.total_withdraw, request.expiry
        self._with_fresh_funding(
            lambda: rules.validate_withdraw(self.funding, self.latest.proof, self.partner_side, total), Overspend
        )
        digest = withdraw_digest(self.domain, self.channel_id, participant, total, expiry)
        check_signer(digest, their_sig, participant, "Withdraw")
        self._check_open_on_layer1()
        my_sig = self.signer.sign(digest)
        sigs = {self.side: my_sig, self.partner_side: their_sig}
        self._agree_withdraw(self.partner_side, total, expiry, sigs[A], sigs[B])
        return {"type": "Withdraw", **request.to_json(), "signature": _hex(my_sig)}

    def withdraw(self, request: dict, approval: dict):
        """Submit our co-signed withdrawal on Layer 1; the money comes to us."""
        ours, my_sig = decode_withdraw_message(request)
        _approved, their_sig = decode_withdraw_message(approval)  # only its signature counts, on `ours`
        chain = self._require_chain()
        if ours.channel_id != self.channel_id:
            raise WrongChannel(f"withdraw is for channel 0x{ours.channel_id.hex()}, not 0x{self.channel_id.hex()}")
        if ours.participant != self.address:
            raise WrongChannel(f"withdraw is for {ours.participant}, not for us ({self.address})")
        total, expiry = ours.total_withdraw, ours.expiry
        digest = withdraw_digest(self.domain, self.channel_id, self.address, total, expiry)
        check_signer(digest, their_sig, self.params.address_of(self.partner_side), "Withdraw approval")
        self._check_open_on_layer1()
        sigs = {self.side: my_sig, self.partner_side: their_sig}
        self._agree_withdraw(self.side, total, expiry, sigs[A], sigs[B])
        try:
            return chain.transact(
                self.registry.functions.withdraw(self.params.as_tuple(), self.address, total, expiry, sigs[A], sigs[B]),
                self.account,
            )
        finally:
            self.refresh_funding()  # paid: counted from Layer 1 from now on; reverted: dropped once expired

    # ------------------------------------------------------------------ closing

    def propose_cooperative_close(self, expiry: int | None = None) -> dict:
        """Sign the final balances of the latest co-signed state over Layer 1's current totals.

        The close is valid until `expiry` (default: `COOPERATIVE_CLOSE_LIFETIME` after the latest
        block) and only while no deposit or withdrawal happens. Until it is settled, expired or so
        voided, this party refuses payments both ways (`CooperativeCloseSigned`).
        """
        if expiry is not None:
            _check_uint(expiry, "cooperative close expiry", 64, positive=False)
        self._refuse_if_closed()
        if self.chain is not None:
            self.refresh_funding()
            self._refuse_if_closed()
        if self.pending is not None:
            raise UpdateInFlight("finish the pending payment before closing")
        self.flush()
        if expiry is None:
            if self.chain is None:
                raise InputError("an offline party must give a cooperative close an explicit expiry")
            expiry = min(self.chain.now() + COOPERATIVE_CLOSE_LIFETIME, rules.UINT64_MAX)
        # Over Layer 1's totals only: a withdrawal still in flight is left out, since once the
        # close is through it can no longer be paid, and if it is paid first the close is void.
        close = rules.cooperative_close(self.onchain, self.latest.proof, expiry)
        return {"type": "CooperativeClose", **close.to_json(), "signature": _hex(self._sign_close(close))}

    def countersign_cooperative_close(self, message: dict) -> dict:
        """Check the partner's proposal against our latest state and Layer 1, co-sign it, return it
        with our signature (for the partner to submit); we then refuse payments as the proposer does."""
        close, their_sig = decode_cooperative_close_message(message)
        sigs = self._countersign(close, their_sig)
        return {"type": "CooperativeClose", **close.to_json(), "signature": _hex(sigs[self.side])}

    def accept_cooperative_close(self, message: dict):
        """Check the partner's proposal, co-sign it and submit it ourselves; returns the receipt."""
        close, their_sig = decode_cooperative_close_message(message)
        chain = self._require_chain()
        sigs = self._countersign(close, their_sig)
        receipt = chain.transact(
            self.registry.functions.cooperativeClose(self.params.as_tuple(), close.as_tuple(), sigs[A], sigs[B]),
            self.account,
        )
        self._forget_close()  # settled: the channel is gone
        self.observe(STATUS_NONE, receipt.blockNumber)
        return receipt

    def _countersign(self, close: CooperativeClose, their_sig: bytes) -> dict[str, bytes]:
        """Both signatures on the partner's proposed `close`, ours made (and remembered) only if it
        is for this open channel, on Layer 1's totals, paying exactly our latest state."""
        self._refuse_if_closed()
        if self.chain is not None:
            self.refresh_funding()  # the partner may have deposited or withdrawn since we last looked
            self._refuse_if_closed()
        rules.validate_cooperative_close(self.onchain, self.latest.proof, close)
        check_signer(cooperative_close_digest(self.domain, close), their_sig,
                     self.params.address_of(self.partner_side), "CooperativeClose")
        return {self.side: self._sign_close(close), self.partner_side: their_sig}

    def _sign_close(self, close: CooperativeClose) -> bytes:
        """Our signature on `close`, remembered (on disk first) before it can leave this process."""
        held = self.signed_close
        # Any close held on other totals is void already (the totals only grow); of two on the
        # same totals (hence the same balances) the later expiry is the one that binds us.
        if held is None or held.funding != close.funding or held.expiry <= close.expiry:
            if self.store is not None:
                self.store.save_signed_close(close)
            self.signed_close = close
        return self.signer.sign(cooperative_close_digest(self.domain, close))

    def _forget_close(self) -> None:
        if self.store is not None:
            self.store.delete_signed_close(self.channel_id)
        self.signed_close = None

    def _refuse_while_close_signed(self) -> None:
        """CooperativeCloseSigned while the close we signed may still be submitted.

        Otherwise we could be paid off-chain while the partner holds a valid close at the older
        balances (or pay while holding one ourselves). It stops binding us once Layer 1 has
        settled or closed the channel (then ChannelClosed: nothing more happens off-chain), the
        expiry has passed, or a deposit or withdrawal has changed the totals it was signed on.
        An offline party cannot tell, so it keeps refusing.
        """
        close = self.signed_close
        assert close is not None  # called only while a signed close is held
        if self.chain is not None:
            now, status, onchain = self._read_layer1()
            if status != STATUS_OPEN:
                self._forget_close()
                self._refuse_if_closed()
            if not close.live(onchain, now):
                self._forget_close()
                return
        raise CooperativeCloseSigned(
            f"we signed a cooperative close of channel 0x{self.channel_id.hex()} valid until {close.expiry}: "
            f"no payments until it is settled, has expired, or a deposit or withdrawal has voided it"
        )

    def close(self, signed: SignedProof | None = None):
        """Close alone with the latest proof the partner signed (or `signed`, e.g. a stale one in tests)."""
        chain = self._require_chain()
        self._check_open_on_layer1()
        signed = signed or self.best_signed_by_partner()
        partner_sig = getattr(signed, self._sig_field(self.partner_side)) or b""
        receipt = chain.transact(
            self.registry.functions.close(self.params.as_tuple(), signed.proof.as_tuple(), partner_sig), self.account
        )
        self.observe(STATUS_CLOSED_BY_A if self.side == A else STATUS_CLOSED_BY_B, receipt.blockNumber)
        return receipt

    def _refuse_if_settled(self) -> None:
        """ChannelClosed if the channel is gone from Layer 1: nothing left to answer or settle. (While it
        is still open the registry's ChannelNotClosing says so, before any gas is spent.)"""
        if self._layer1_status() == STATUS_NONE:
            self._refuse_if_closed()

    def update_state(self, signed: SignedProof | None = None):
        """Answer a close with our co-signed proof (by default the newest one the partner signed).

        The registry takes it if its nonce is higher than the closing one, or equal with a lower
        balance for A: after a crossing, A's proposal replaces B's refused one (`rules.answerable`).
        """
        chain = self._require_chain()
        self._refuse_if_settled()
        signed = signed or self.best_signed_by_partner()
        return chain.transact(
            self.registry.functions.updateState(
                self.params.as_tuple(), signed.proof.as_tuple(), signed.sig_a or b"", signed.sig_b or b""
            ),
            self.account,
        )

    def settle(self):
        """Pay out after the challenge period (anyone may call it; we do)."""
        chain = self._require_chain()
        self._refuse_if_settled()
        receipt = chain.transact(self.registry.functions.settle(self.params.as_tuple()), self.account)
        self.observe(STATUS_NONE, receipt.blockNumber)
        return receipt


def pay(payer: Party, receiver: Party, amount: int) -> None:
    """One payment delivered in process: the payer's proposal, the receiver's counter-signature, the ack.

    Two parties in one process (a demo, a sandbox, a benchmark) need no transport; across
    processes the same three JSON-ready messages travel over any channel. A crossing is resolved
    here too: if the receiver had proposed the same nonce, A's proposal wins and B's payment is
    proposed again on top and delivered, so after `pay` both hold the same state and no payment
    of either side is lost.
    """
    message = payer.pay(amount)
    receiver_proposal = receiver.pending
    try:
        ack = receiver.receive(message)
    except CrossingRefused as refused:
        # The receiver is A and had proposed this nonce too, so its proposal wins: the payer (B)
        # acknowledges it, then A takes B's payment again, on top of it.
        assert refused.proposal is not None  # A refused because it had proposed this nonce itself
        receiver.receive_ack(payer.receive(refused.proposal))
        again = payer.resend_pending()
        assert again is not None  # B's payment, proposed again on top of A's
        ack = receiver.receive(again)
    payer.receive_ack(ack)
    if receiver_proposal is not None and receiver.pending is not None and receiver.pending is not receiver_proposal:
        # The receiver (B) lost a crossing to this payment: its own payment follows, on top of it.
        again = receiver.resend_pending()
        assert again is not None  # receiver.pending, checked above
        receiver.receive_ack(payer.receive(again))
