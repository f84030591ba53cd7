"""An optimistic rollup: account state in a sparse Merkle tree, one post-state root per transition,
and a single-transaction fraud proof that re-executes one transition on Layer 1.

- `txs.py`: the signed transaction types and their compact calldata encoding.
- `state.py`: the sparse Merkle tree, the state and the ONE transition function `apply`.
- `batch.py`: batch data, the transaction tree and headers, as `OptimisticRollup.sol` commits them.
- `l1.py`: thin client of the `Rollup` contract (bridge, batches, fraud proofs, claims).
- `proofs.py`: builds fraud proofs and withdrawal claims from a pre-state.
- `sequencer.py` (with `faults.py`), `challenger.py`, `wallet.py`: the parties.
"""
