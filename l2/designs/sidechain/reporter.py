"""The evidence reporter: a service that submits the equivocations a validator recorded to Layer 1.

A validator stores two different votes of one signer for one height, round and type in its `evidence`
table as they arrived (node.py). The reporter reads the rows after its cursor (read-only: the validator
process owns the file), decodes them under the validator's domain and submits each to
`StakeManager.slashDoubleVote`, which checks the same EIP-712 digests. That only works if the validators
sign under the StakeManager's domain (their config's `verifyingContract`), which the reporter checks
before it starts rather than have every report fail.

Several reporters (one per validator) race for the same fault: the first slashes, and evidence against a
validator already slashed (or withdrawn) is told and passed. The cursor lives in memory: after a restart
the reporter submits old rows again, and Layer 1 answers `AlreadySlashed`, so that costs gas, never stake.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from eth_account.signers.local import LocalAccount

from l2.designs.sidechain.errors import SidechainConfigError, SidechainStorageError, SidechainViolation
from l2.designs.sidechain.l1 import SidechainL1
from l2.designs.sidechain.messages import Domain, decode_vote
from l2.errors import TransactionReverted
from l2.runtime.service import Event

PASSED = {"AlreadySlashed": "already slashed", "NothingToSlash": "has withdrawn its stake"}


class EvidenceReporter:
    def __init__(self, l1: SidechainL1, account: LocalAccount, db_path: Path, domain: Domain, *,
                 name: str = "reporter"):
        if domain != l1.vote_domain():
            raise SidechainConfigError(
                f"validators sign votes for chain {domain.chain_id} under verifying contract "
                f"{domain.verifying_contract}, but Layer 1 judges them as chain {l1.sidechain_id} under "
                f"{l1.stake_manager.address}: set the cluster's verifyingContract to the StakeManager")
        self.l1 = l1
        self.account = account
        self.db_path = Path(db_path)
        self.domain = domain
        self.name = name
        self.cursor = 0  # id of the last evidence row handled

    def _rows(self) -> list[tuple[int, str, str]]:
        try:
            db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
            try:
                return db.execute("SELECT id, first, second FROM evidence WHERE id > ? ORDER BY id",
                                  (self.cursor,)).fetchall()
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            raise SidechainStorageError(f"cannot read evidence from {self.db_path}: {exc}") from None

    def step(self, urgent: bool = False) -> list[Event]:
        events = []
        for row_id, first_json, second_json in self._rows():
            try:
                first = decode_vote(json.loads(first_json), self.domain)
                second = decode_vote(json.loads(second_json), self.domain)
            except (SidechainViolation, ValueError) as exc:
                events.append(Event(self.name, f"evidence #{row_id} unreadable, passed: {exc}"))
                self.cursor = row_id
                continue
            try:
                receipt = self.l1.slash_double_vote(self.account, first, second)
            except TransactionReverted as exc:
                # Anything Layer 1 refuses stays refused: say why and go on (a connection failure is not a
                # revert and leaves the cursor, so the row is tried again next round).
                reason = PASSED.get(exc.error_name, f"refused by Layer 1: {exc}")
                events.append(Event(self.name, f"evidence #{row_id} against {first.signer} passed: {reason}"))
                self.cursor = row_id
                continue
            (slashed,) = self.l1.chain.events(receipt, self.l1.stake_manager, "Slashed")
            events.append(Event(self.name, f"slashed {slashed.signer} for {first} and {second}: {slashed.amount} "
                                           f"wei, {slashed.reward} to us"))
            self.cursor = row_id
        return events
