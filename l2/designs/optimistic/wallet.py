"""A user of the optimistic rollup: an Ethereum key that owns funds and accounts on Layer 1, and a BLS key
that signs transfers on Layer 2.

The BLS key is derived from the Ethereum key by default (`BlsKey.derive`: RFC 9380's KeyGen, HKDF over
the secret), so one secret backs up both; pass `bls_key` to keep a separate one. Layer 1 learns the
BLS key once, with a proof of possession (`register`), and every account opened for this address after
that carries its hash, so the rollup's aggregate signatures can be checked against it.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount

from l2.core import bls
from l2.designs.optimistic.encoding import Transfer, Withdrawal, amount_pieces
from l2.designs.optimistic.errors import UnknownAccount
from l2.designs.optimistic.l1 import RollupClient
from l2.designs.optimistic.sequencer import Sequencer
from l2.designs.optimistic.state import key_hash


class Wallet:
    def __init__(self, account: LocalAccount, client: RollupClient, sequencer: Sequencer | None,
                 bls_key: bls.BlsKey | None = None):
        self.account, self.client, self.sequencer = account, client, sequencer
        self.bls_key = bls_key if bls_key is not None else bls.BlsKey.derive(bytes(account.key))

    @property
    def address(self) -> str:
        return self.account.address

    # --- Layer 1 --------------------------------------------------------------------------------

    def registered(self) -> bool:
        return self.client.key_hash_of(self.address) == key_hash(self.bls_key.public)

    def register(self):
        """Register the BLS key on Layer 1 (with its proof of possession) unless it already is."""
        if not self.registered():
            return self.client.register_key(self.account, self.bls_key)
        return None

    def deposit(self, amount: int, token: int = 0):
        """Deposit into this address's account for `token` (opened by Layer 1 at the first deposit)."""
        self.register()
        if token == 0:
            return self.client.deposit_eth(self.account, amount)
        return self.client.deposit_token(self.account, token, amount)

    def force_withdrawal(self, amount: int, token: int = 0):
        """Ask Layer 1 to take `amount` out without the sequencer's help: it must include the request
        within the inclusion window, or anyone may post batches in its place."""
        return self.client.request_forced_withdrawal(self.account, self.index(token), amount)

    # --- Layer 2 --------------------------------------------------------------------------------

    def index(self, token: int = 0) -> int:
        index = self.client.account_of(self.address, token)
        if index == 0:
            raise UnknownAccount(f"{self.address} has no account for token {token}: deposit first")
        return index

    def _sequencer(self) -> Sequencer:
        if self.sequencer is None:
            raise UnknownAccount("this wallet has no sequencer: it acts on Layer 1 only")
        return self.sequencer

    def nonce(self, token: int = 0) -> int:
        return self._sequencer().nonce_of(self.index(token))

    def balance(self, token: int = 0) -> int:
        """The balance as the sequencer will post it (its accepted transfers included)."""
        account = self._sequencer().open_state.account(self.client.account_of(self.address, token) or -1)
        return account.balance if account is not None else 0

    def sign(self, transfer: Transfer, nonce: int) -> bytes:
        return self.bls_key.sign(transfer.message(self.client.domain, nonce))

    def transfer(self, to, amount: int, fee: int = 0, token: int = 0) -> int:
        """Pay `to` (an address with an account for `token`, anything with an `.address`, or an account
        index); returns its place in the sequencer's journal."""
        if isinstance(to, int):
            receiver = to
        else:
            receiver = self.client.account_of(getattr(to, "address", to), token)
        if receiver == 0:
            raise UnknownAccount(f"{to} has no account for token {token}: it must deposit once first")
        return self._submit(Transfer(self.index(token), receiver, amount, fee), token)

    def withdraw(self, amount: int, fee: int = 0, token: int = 0) -> int:
        """Move `amount` to this address on Layer 1: paid by `claimWithdrawal` once its batch is final."""
        return self._submit(Withdrawal(self.index(token), amount, fee), token)

    def withdraw_all(self, token: int = 0) -> list[int]:
        """Withdraw the whole balance: an amount is a 16-bit float, so in as many withdrawals as its
        digits need (`amount_pieces`, two or three for any balance)."""
        return [self.withdraw(piece, token=token) for piece in amount_pieces(self.balance(token))]

    def _submit(self, transfer: Transfer, token: int) -> int:
        nonce = self.nonce(token)
        return self._sequencer().submit(transfer, nonce, self.sign(transfer, nonce))
