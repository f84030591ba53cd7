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
"""

from __future__ import annotations


from eth_utils import to_checksum_address

from l2.channels import rules
from l2.channels.errors import (
    ChannelBalanceTooLow,
    ChannelStorageError,
    CooperativeCloseSigned,
    NonceNotNext,
    Overspend,
    UpdateInFlight,
    WrongChannel,
)
from l2.channels.messages import (
    ChannelDomain,
    Signer,
    balance_proof_digest,
    check_format,
    check_signer,
    cooperative_close_digest,
    withdraw_digest,
)
from l2.channels.rules import (
    A,
    B,
    ZERO_ADDRESS,
    AgreedWithdraw,
    BalanceProof,
    ChannelParams,
    CooperativeClose,
    Funding,
)
from l2.channels.storage import ChannelStore, SignedProof
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

# Default lifetime of a cooperative close we sign (seconds after the latest block): long enough
# to get it mined, short because until then this party accepts no payments on the channel.
COOPERATIVE_CLOSE_LIFETIME = 3600


def _hex(data: bytes | None) -> str | None:
    return None if data is None else "0x" + data.hex()


def _unhex(text, what: str) -> bytes:
    try:
        return bytes.fromhex(str(text).removeprefix("0x"))
    except ValueError:
        raise InputError(f"{what} is not hex: {text!r}") from None


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
        if store is not None:
            store.save_channel(params, self.signer.address, domain.chain_id, domain.registry)

    # ------------------------------------------------------------------ constructors

    @classmethod
    def open(cls, chain, registry, account, partner: str, *, token: str = ZERO_ADDRESS, challenge_period: int,
             deposit: int = 0, store: ChannelStore | None = None) -> tuple[Party, object]:
        """Open a channel on Layer 1 (with an optional first deposit); returns (party, receipt)."""
        token = to_checksum_address(token)
        if token != ZERO_ADDRESS and deposit:
            erc20 = chain.w3.eth.contract(address=token, abi=ERC20_ABI)
            chain.transact(erc20.functions.approve(registry.address, deposit), account)
        value = deposit if token == ZERO_ADDRESS else 0
        receipt = chain.transact(
            registry.functions.open(to_checksum_address(partner), token, challenge_period, deposit), account, value=value
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
            party.pending = nxt
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

    # ------------------------------------------------------------------ payments

    def _sig_field(self, side: str) -> str:
        return "sig_a" if side == A else "sig_b"

    def pay(self, amount: int) -> dict:
        """Sign the next state paying `amount` to the partner; returns the message to deliver."""
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
        self.pending = pending
        self._pending_digest = digest
        self._pending_json = proof.to_json()
        return {"type": "BalanceProof", "proof": self._pending_json, "signature": _hex(signature)}

    def resend_pending(self) -> dict | None:
        """The proposal to send again after a restart (the same one: never sign two states with one nonce)."""
        if self.pending is None:
            return None
        sig = getattr(self.pending, self._sig_field(self.side))
        return {"type": "BalanceProof", "proof": self.pending.proof.to_json(), "signature": _hex(sig)}

    def receive(self, message: dict) -> dict:
        """Validate the partner's payment, counter-sign it, store it, return the acknowledgement."""
        if message.get("type") != "BalanceProof":
            raise InputError(f"expected a BalanceProof message, got {message.get('type')!r}")
        proof = BalanceProof.from_json(message["proof"])
        signature = _unhex(message["signature"], "signature")
        if proof == self.latest.proof and proof.nonce > 0:
            # The partner lost our ack in a crash and re-delivers: answer again, change nothing.
            check_signer(balance_proof_digest(self.domain, proof), signature,
                         self.params.address_of(self.partner_side), "BalanceProof")
            my_sig = getattr(self.latest, self._sig_field(self.side))
            return {"type": "BalanceProofAck", "proof": message["proof"], "signature": _hex(my_sig)}
        if self.signed_close is not None:
            self._refuse_while_close_signed()
        rules.check_not_concurrent(self.pending and self.pending.proof, proof)
        self._with_fresh_funding(
            lambda: rules.validate_update(self.funding, self.latest.proof, proof, self.partner_side), Overspend
        )
        digest = balance_proof_digest(self.domain, proof)
        check_signer(digest, signature, self.params.address_of(self.partner_side), "BalanceProof")
        my_sig = self.signer.sign(digest)
        signed = SignedProof(proof, **{self._sig_field(self.partner_side): signature, self._sig_field(self.side): my_sig})
        self._save(signed)
        self.latest = self.verified = signed
        self._unchecked_ack = None
        return {"type": "BalanceProofAck", "proof": message["proof"], "signature": _hex(my_sig)}

    def receive_ack(self, message: dict) -> None:
        """The partner counter-signed our proposal: it becomes the latest co-signed state."""
        if message.get("type") != "BalanceProofAck":
            raise InputError(f"expected a BalanceProofAck message, got {message.get('type')!r}")
        if self.pending is None:
            raise NonceNotNext("acknowledgement for an update we did not send (replayed?)")
        proof = self.pending.proof
        if message["proof"] != (self._pending_json or proof.to_json()):
            got = BalanceProof.from_json(message["proof"])
            raise NonceNotNext(f"acknowledgement is for nonce {got.nonce}, not our update {proof.nonce}")
        signature = _unhex(message["signature"], "signature")
        check_format(signature)
        digest = self._pending_digest or balance_proof_digest(self.domain, proof)
        own = getattr(self.pending, self._sig_field(self.side))
        signed = SignedProof(proof, own, signature) if self.side == A else SignedProof(proof, signature, own)
        if self.store is not None:
            self._unsaved.append(signed)
        self.latest = signed
        self._unchecked_ack = (signed, digest)
        self.pending = None
        self._pending_digest = self._pending_json = None

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

    def _save(self, signed: SignedProof) -> None:
        """Commit `signed` (with any acknowledged states not yet written) before acting on it."""
        if self.store is not None:
            self.store.save_proofs([*self._unsaved, signed])
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
        """(latest block timestamp, channel status, running totals), the time read first: whatever
        Layer 1 did by then (a withdrawal paid, a close submitted) is in the state read after it."""
        chain = self._require_chain()
        now = chain.now()
        channel, _ = self.onchain_state()
        deposit_a, deposit_b, _settle_at, status, withdrawn_a, withdrawn_b, _nonce = channel
        return now, status, Funding(deposit_a, deposit_b, withdrawn_a, withdrawn_b)

    def refresh_funding(self) -> Funding:
        """Read deposits and paid-out withdrawals from Layer 1; drop agreed withdrawals paid or expired."""
        now, status, onchain = self._read_layer1()
        if status == STATUS_NONE:
            return self.funding  # settled (or never opened): keep the last view
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
        """Add `amount` to our deposit on Layer 1 (approving the registry first for tokens)."""
        chain = self._require_chain()
        if self.params.token != ZERO_ADDRESS:
            token = chain.w3.eth.contract(address=self.params.token, abi=ERC20_ABI)
            chain.transact(token.functions.approve(self.registry.address, amount), self.account)
            value = 0
        else:
            value = amount
        receipt = chain.transact(self.registry.functions.deposit(self.params.as_tuple(), amount), self.account, value=value)
        self.refresh_funding()
        return receipt

    # ------------------------------------------------------------------ withdraw without closing

    def request_withdraw(self, amount: int, expiry: int) -> dict:
        """Ask the partner to co-sign a withdrawal of `amount` of our balance, valid until `expiry`."""
        self.flush()
        if self.pending is not None:
            raise UpdateInFlight("finish the pending payment before withdrawing")
        if self.chain is not None:
            self.refresh_funding()  # build on what Layer 1 paid, not on an expired agreement
        total = self.funding.withdrawn(self.side) + amount
        rules.validate_withdraw(self.funding, self.latest.proof, self.side, total)
        digest = withdraw_digest(self.domain, self.channel_id, self.address, total, expiry)
        return {
            "type": "Withdraw",
            "channelId": "0x" + self.channel_id.hex(),
            "participant": self.address,
            "totalWithdraw": str(total),
            "expiry": expiry,
            "signature": _hex(self.signer.sign(digest)),
        }

    def approve_withdraw(self, message: dict) -> dict:
        """Check and co-sign the partner's withdrawal; from now on we count it as withdrawn."""
        if message.get("type") != "Withdraw":
            raise InputError(f"expected a Withdraw message, got {message.get('type')!r}")
        if _unhex(message["channelId"], "channelId") != self.channel_id:
            raise WrongChannel(f"withdraw is for channel {message['channelId']}, not 0x{self.channel_id.hex()}")
        participant = to_checksum_address(message["participant"])
        if participant != self.params.address_of(self.partner_side):
            raise WrongChannel(f"withdraw is for {participant}, who is not our partner")
        total, expiry = int(message["totalWithdraw"]), int(message["expiry"])
        self._with_fresh_funding(
            lambda: rules.validate_withdraw(self.funding, self.latest.proof, self.partner_side, total), Overspend
        )
        digest = withdraw_digest(self.domain, self.channel_id, participant, total, expiry)
        their_sig = _unhex(message["signature"], "signature")
        check_signer(digest, their_sig, participant, "Withdraw")
        my_sig = self.signer.sign(digest)
        sigs = {self.side: my_sig, self.partner_side: their_sig}
        self._agree_withdraw(self.partner_side, total, expiry, sigs[A], sigs[B])
        return {**message, "signature": _hex(my_sig)}

    def withdraw(self, request: dict, approval: dict):
        """Submit our co-signed withdrawal on Layer 1; the money comes to us."""
        chain = self._require_chain()
        total, expiry = int(request["totalWithdraw"]), int(request["expiry"])
        digest = withdraw_digest(self.domain, self.channel_id, self.address, total, expiry)
        their_sig = _unhex(approval["signature"], "signature")
        check_signer(digest, their_sig, self.params.address_of(self.partner_side), "Withdraw approval")
        sigs = {self.side: _unhex(request["signature"], "signature"), self.partner_side: their_sig}
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
        if self.pending is not None:
            raise UpdateInFlight("finish the pending payment before closing")
        self.flush()
        if self.chain is not None:
            self.refresh_funding()
        if expiry is None:
            if self.chain is None:
                raise InputError("an offline party must give a cooperative close an explicit expiry")
            expiry = self.chain.now() + COOPERATIVE_CLOSE_LIFETIME
        # Over Layer 1's totals only: a withdrawal still in flight is left out, since once the
        # close is through it can no longer be paid, and if it is paid first the close is void.
        close = rules.cooperative_close(self.onchain, self.latest.proof, expiry)
        return {"type": "CooperativeClose", **close.to_json(), "signature": _hex(self._sign_close(close))}

    def countersign_cooperative_close(self, message: dict) -> dict:
        """Check the partner's proposal against our latest state and Layer 1, co-sign it, return it
        with our signature (for the partner to submit); we then refuse payments as the proposer does."""
        _close, sigs = self._countersign(message)
        return {**message, "signature": _hex(sigs[self.side])}

    def accept_cooperative_close(self, message: dict):
        """Check the partner's proposal, co-sign it and submit it ourselves; returns the receipt."""
        chain = self._require_chain()
        close, sigs = self._countersign(message)
        receipt = chain.transact(
            self.registry.functions.cooperativeClose(self.params.as_tuple(), close.as_tuple(), sigs[A], sigs[B]),
            self.account,
        )
        self._forget_close()  # settled: the channel is gone
        return receipt

    def _countersign(self, message: dict) -> tuple[CooperativeClose, dict[str, bytes]]:
        if message.get("type") != "CooperativeClose":
            raise InputError(f"expected a CooperativeClose message, got {message.get('type')!r}")
        close = CooperativeClose.from_json(message)
        if self.chain is not None:
            self.refresh_funding()  # the partner may have deposited or withdrawn since we last looked
        rules.validate_cooperative_close(self.onchain, self.latest.proof, close)
        their_sig = _unhex(message["signature"], "signature")
        check_signer(cooperative_close_digest(self.domain, close), their_sig,
                     self.params.address_of(self.partner_side), "CooperativeClose")
        return close, {self.side: self._sign_close(close), self.partner_side: their_sig}

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
        settled or closed the channel, the expiry has passed, or a deposit or withdrawal has
        changed the totals it was signed on. An offline party cannot tell, so it keeps refusing.
        """
        close = self.signed_close
        if self.chain is not None:
            now, status, onchain = self._read_layer1()
            if status != STATUS_OPEN or not close.live(onchain, now):
                self._forget_close()
                return
        raise CooperativeCloseSigned(
            f"we signed a cooperative close of channel 0x{self.channel_id.hex()} valid until {close.expiry}: "
            f"no payments until it is settled, has expired, or a deposit or withdrawal has voided it"
        )

    def close(self, signed: SignedProof | None = None):
        """Close alone with the latest proof the partner signed (or `signed`, e.g. a stale one in tests)."""
        chain = self._require_chain()
        signed = signed or self.best_signed_by_partner()
        partner_sig = getattr(signed, self._sig_field(self.partner_side)) or b""
        return chain.transact(
            self.registry.functions.close(self.params.as_tuple(), signed.proof.as_tuple(), partner_sig), self.account
        )

    def update_state(self, signed: SignedProof | None = None):
        """Answer a partner's close with our newer co-signed proof."""
        chain = self._require_chain()
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
        return chain.transact(self.registry.functions.settle(self.params.as_tuple()), self.account)


def pay(payer: Party, receiver: Party, amount: int) -> None:
    """One payment delivered in process: the payer's proposal, the receiver's counter-signature, the ack.

    Two parties in one process (a demo, a sandbox, a benchmark) need no transport; across
    processes the same three JSON-ready messages travel over any channel.
    """
    payer.receive_ack(receiver.receive(payer.pay(amount)))
