"""Checkpoints on Layer 1: accepted with more than 2/3 of the stake of the epoch, in order, and refused
with forged, foreign, repeated or unsorted signatures. The Python twin (`bridge.signed_stake`) refuses the
same inputs as StakeManager."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from l2.core.crypto import SECP256K1_N, Signer
from l2.designs.sidechain import bridge, gas
from l2.designs.sidechain.bridge import Checkpoint
from l2.designs.sidechain.errors import CheckpointRejected
from l2.designs.sidechain.messages import PRECOMMIT, Domain, vote_digest
from l2.errors import TransactionReverted

from .conftest import ETHER, OUTSIDER, SIDECHAIN_ID, SIGNERS, STAKES, VALIDATOR_KEYS, block_hashes


def first_checkpoint(end: int = 4) -> Checkpoint:
    return bridge.make_checkpoint(1, block_hashes(1, end), [])


def powers() -> dict[str, int]:
    return {s.address: stake for s, stake in zip(SIGNERS, STAKES, strict=True)}


def refused(env, cp: Checkpoint, packed: bytes, error: str):
    """Layer 1 refuses with `error`, and the Python twin refuses too."""
    with pytest.raises(TransactionReverted) as info:
        env.l1.submit_checkpoint(env.chain.accounts[0], cp, packed)
    assert info.value.error_name == error, info.value
    with pytest.raises(CheckpointRejected):
        bridge.check_quorum(env.l1.checkpoint_digest(cp), packed, powers())
    return info.value


def test_two_validators_holding_more_than_two_thirds_of_the_stake_checkpoint_blocks(env):
    cp = first_checkpoint()
    signatures = env.sign(cp, SIGNERS[:2])  # 40 + 30 of 100
    receipt = env.l1.submit_checkpoint(env.chain.accounts[5], cp, signatures)
    (event,) = env.chain.events(receipt, env.l1.stake_manager, "CheckpointSubmitted")
    assert (event.number, event.start, event.end, event.signedStake) == (0, 1, 4, 70 * ETHER)
    assert bytes(event.blockRoot) == bridge.block_root(block_hashes(1, 4))
    assert bytes(env.l1.sm.checkpointHashes(0).call()) == cp.header_hash
    assert (env.l1.epoch(), env.l1.last_end()) == (1, 4)
    assert bridge.check_quorum(env.l1.checkpoint_digest(cp), bridge.pack_signatures(signatures), powers()) == 70 * ETHER
    assert env.l1.checkpoints() == [(0, cp)]


def test_three_of_four_validators_with_less_than_two_thirds_of_the_stake_are_refused(env):
    cp = first_checkpoint()
    error = refused(env, cp, bridge.pack_signatures(env.sign(cp, SIGNERS[1:])), "NoQuorum")  # 30 + 20 + 10
    assert error.error_args == (60 * ETHER, 100 * ETHER)
    assert env.l1.epoch() == 0


def test_no_signature_at_all_is_no_quorum(env):
    refused(env, first_checkpoint(), b"", "NoQuorum")


def test_a_checkpoint_must_start_right_after_the_previous_end(env):
    env.checkpoint(4)
    gap = bridge.make_checkpoint(6, block_hashes(6, 8), [])
    with pytest.raises(TransactionReverted, match="CheckpointOutOfOrder") as info:
        env.l1.submit_checkpoint(env.chain.accounts[0], gap, env.sign(gap))
    assert info.value.error_args == (6, 5)
    again = first_checkpoint()  # the accepted one, replayed with its signatures
    with pytest.raises(TransactionReverted, match="CheckpointOutOfOrder"):
        env.l1.submit_checkpoint(env.chain.accounts[0], again, env.sign(again))
    backwards = Checkpoint(5, 4, bytes(32), bytes(32))
    with pytest.raises(TransactionReverted, match="InvalidRange"):
        env.l1.submit_checkpoint(env.chain.accounts[0], backwards, env.sign(backwards))


def test_a_signature_by_a_key_outside_the_set_is_refused(env):
    cp = first_checkpoint()
    signatures = env.sign(cp, SIGNERS[:2]) | env.sign(cp, [OUTSIDER])
    error = refused(env, cp, bridge.pack_signatures(signatures), "UnknownSigner")
    assert error.error_args == (OUTSIDER.address.lower(),)


def test_signatures_moved_to_another_root_recover_to_nobody_in_the_set(env):
    cp = first_checkpoint()
    forged = Checkpoint(cp.start, cp.end, cp.block_root, b"\x66" * 32)  # a made-up exit root
    refused(env, forged, bridge.pack_signatures(env.sign(cp)), "UnknownSigner")


@pytest.mark.parametrize("foreign", ["sidechain", "contract", "layer1"])
def test_a_signature_for_another_sidechain_contract_or_layer1_is_refused(env, foreign):
    cp = first_checkpoint()
    chain_id, contract, sidechain = env.chain.chain_id, env.l1.stake_manager.address, SIDECHAIN_ID
    if foreign == "sidechain":
        sidechain += 1
    elif foreign == "contract":
        contract = env.l1.deposit_manager.address
    else:
        chain_id += 1
    signatures = {s.address: bridge.sign_checkpoint(s, chain_id, contract, sidechain, cp) for s in SIGNERS}
    refused(env, cp, bridge.pack_signatures(signatures), "UnknownSigner")


def test_a_validator_counted_twice_or_signatures_out_of_order_are_refused(env):
    cp = first_checkpoint()
    by_address = sorted(env.sign(cp, SIGNERS[:2]).items(), key=lambda item: int(item[0], 16))
    low, high = by_address[0][1], by_address[1][1]
    error = refused(env, cp, low + low + high, "DuplicateSigner")
    assert error.error_args == (by_address[0][0].lower(),)
    refused(env, cp, high + low, "SignersNotSorted")


def test_malformed_and_malleable_signatures_are_refused(env):
    cp = first_checkpoint()
    signature = env.sign(cp, SIGNERS[:1])[SIGNERS[0].address]
    refused(env, cp, signature[:64], "SignaturesLength")
    s = int.from_bytes(signature[32:64], "big")
    twin = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])  # same key, high s
    refused(env, cp, twin, "InvalidSignatureS")


def test_a_new_validator_counts_from_the_next_epoch_and_a_leaving_one_until_it(env):
    env.checkpoint(4)  # epoch 1: changes now wait for the next checkpoint
    newcomer = Signer(bytes([0x6F]) * 32)
    env.l1.stake(env.chain.accounts[8], newcomer.address, 50 * ETHER)
    env.l1.unstake(env.owners[0], SIGNERS[0].address)
    assert env.l1.voting_power(newcomer.address) == 0 and env.l1.total_stake() == 100 * ETHER
    cp = bridge.make_checkpoint(5, block_hashes(5, 8), [])
    with pytest.raises(TransactionReverted, match="InactiveSigner"):
        env.l1.submit_checkpoint(env.chain.accounts[0], cp, env.sign(cp, [*SIGNERS[:2], newcomer]))
    env.l1.submit_checkpoint(env.chain.accounts[0], cp, env.sign(cp, SIGNERS[:2]))  # the leaving one still signs
    assert env.l1.total_stake() == 110 * ETHER  # 100 + 50 - 40
    assert env.l1.voting_power(SIGNERS[0].address) == 0
    cp = bridge.make_checkpoint(9, block_hashes(9, 9), [])
    with pytest.raises(TransactionReverted, match="InactiveSigner") as info:
        env.l1.submit_checkpoint(env.chain.accounts[0], cp, env.sign(cp))
    assert info.value.error_args == (SIGNERS[0].address.lower(), 2)
    # 50 + 30 + 20 = 100 of 110: more than 2/3 without the validator that left
    env.l1.submit_checkpoint(env.chain.accounts[0], cp, env.sign(cp, [newcomer, *SIGNERS[1:3]]))


def test_digests_are_the_python_twins_and_eth_accounts_typed_data(env):
    cp = first_checkpoint()
    contract = env.l1.stake_manager.address
    assert bytes(env.l1.sm.checkpointDigest(cp.as_tuple()).call()) == env.l1.checkpoint_digest(cp)
    message = {"sidechainId": SIDECHAIN_ID, "start": cp.start, "end": cp.end, "blockRoot": cp.block_root,
               "exitRoot": cp.exit_root, "vote": 1}
    domain = {"name": "l2 sidechain", "version": "1", "chainId": env.chain.chain_id, "verifyingContract": contract}
    signed = Account.sign_typed_data(VALIDATOR_KEYS[0], domain, {"Checkpoint": [
        {"name": n, "type": t} for t, n in bridge.CHECKPOINT_TYPE.fields]}, message)
    assert signed.message_hash == env.l1.checkpoint_digest(cp)
    assert encode_typed_data(domain, {"Checkpoint": [{"name": n, "type": t} for t, n in bridge.CHECKPOINT_TYPE.fields]},
                             message).body  # eth-account accepts the type as declared
    vote = (7, 2, PRECOMMIT, b"\x11" * 32)
    assert bytes(env.l1.sm.voteDigest(vote).call()) == vote_digest(Domain(SIDECHAIN_ID, contract), *vote)
    assert env.l1.vote_domain() == Domain(SIDECHAIN_ID, contract)


def test_python_quorum_check_agrees_with_layer1_on_stake_not_count():
    digest = b"\x42" * 32
    signatures = {s.address: s.sign(digest) for s in SIGNERS}
    p = powers()
    assert bridge.check_quorum(digest, bridge.pack_signatures({a: signatures[a] for a in list(p)[:2]}), p)
    with pytest.raises(CheckpointRejected, match="more than 2/3"):
        bridge.check_quorum(digest, bridge.pack_signatures({a: signatures[a] for a in list(p)[1:]}), p)


def test_checkpoint_gas_stays_well_below_polygon_edges_and_grows_by_a_signature_per_validator(env):
    """The figures of `python -m l2.designs.sidechain.gas` (which also measures 4, 20 and 30 validators)."""
    one, ten = gas.checkpoint_gas(env.chain, 1), gas.checkpoint_gas(env.chain, 10)
    assert one.all_signing < gas.POLYGON_EDGE[1] / 3
    assert ten.all_signing < gas.POLYGON_EDGE[10] / 3
    per_signature = (ten.all_signing - one.all_signing) / 9
    assert 7_000 < per_signature < 10_000  # an ecrecover (3,000), a cold validator slot (2,100), calldata
    assert ten.quorum == 7 and ten.quorum_signing < ten.all_signing
