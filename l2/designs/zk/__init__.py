"""The zk-rollup: batches proven valid by a Groth16 SNARK that Layer 1 verifies (see design.py)."""
