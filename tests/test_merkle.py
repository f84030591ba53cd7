"""The project's one Merkle tree, in Python (`l2.core.merkle`) and Solidity (`MerkleTree.sol`), agree;
and a path from one tree or position never proves a leaf in another."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.core import merkle
from l2.core.crypto import keccak

leaves = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40)


@pytest.fixture(scope="module")
def harness(chain):
    return chain.deploy("MerkleHarness")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leaves=leaves, data=st.data())
def test_python_and_solidity_agree_on_roots_and_paths(harness, leaves, data):
    assert bytes(harness.functions.root(leaves).call()) == merkle.root(leaves)
    assert harness.functions.depth(len(leaves)).call() == merkle.depth(len(leaves))
    position = data.draw(st.integers(0, len(leaves) - 1))
    path = merkle.path(leaves, position)
    assert len(path) == merkle.depth(len(leaves))
    assert merkle.root_from(leaves[position], position, path) == merkle.root(leaves)
    assert bytes(harness.functions.rootFrom(leaves[position], position, path).call()) == merkle.root(leaves)


@settings(max_examples=60, deadline=None)
@given(leaves=leaves.filter(lambda ls: len(set(ls)) == len(ls) and len(ls) > 1), data=st.data())
def test_a_path_proves_only_its_own_leaf_at_its_own_position(leaves, data):
    a, b = data.draw(st.lists(st.integers(0, len(leaves) - 1), min_size=2, max_size=2, unique=True))
    root = merkle.root(leaves)
    assert merkle.root_from(leaves[b], a, merkle.path(leaves, a)) != root  # another leaf
    path_a = merkle.path(leaves, a)
    assert merkle.root_from(leaves[a], b, path_a) != root  # its own leaf, claimed at another position
    assert merkle.root_from(keccak(leaves[a]), a, path_a) != root  # a forged leaf


def test_a_sparse_tree_is_the_same_tree_with_every_leaf_present():
    from l2.designs.optimistic.state import Account, State

    state = State.genesis(3)
    state = state.with_account(5, Account(b"\x11" * 20, b"\x22" * 32, 0, 7))
    every_leaf = [state.proof(i)[0] and state.proof(i)[0].leaf() or merkle.ZERO for i in range(8)]
    assert merkle.root(every_leaf) == state.root
    leaf, siblings = state.store.path(state.root, 5)
    assert merkle.root_from(leaf, 5, siblings) == state.root
