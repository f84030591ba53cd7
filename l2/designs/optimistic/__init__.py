"""An optimistic rollup at 8 bytes a transfer: BLS12-381 aggregate signatures, commitments of up to k
transfers with one post-state root and one signature each, one hash per batch on Layer 1, and two
one-transaction fraud proofs (re-execute one commitment, or check its aggregate signature).

- `encoding.py`: transfers, commitments, batches and queue entries, as `OptimisticRules.sol` reads them.
- `state.py`: the account tree and the rules (`apply_transfers`, `apply_queue`, `signature_valid`).
- `proofs.py`: fraud proofs built from a pre-state and a posted batch.
- `l1.py`: thin client of `OptimisticRollup` (bridge, keys, batches, proofs, claims).
- `sequencer.py`, `challenger.py`, `wallet.py`: the parties.
"""
