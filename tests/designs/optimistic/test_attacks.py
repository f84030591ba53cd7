"""The optimistic rollup's data stays checkable (ported from the previous format's test_attacks.py's sections 2 and
3): only an account without code posts, so a batch is the top-level input of its transaction; a checker that cannot
rebuild a batch says so every time; a batch is bound to the queue entries it consumed, and after a reorg a checker
replays every batch from the first changed block, even one whose header is the same on both branches."""

from __future__ import annotations

import pytest

from l2.designs.optimistic import encoding
from l2.designs.optimistic.encoding import QueueCommitment, Transfer, Withdrawal
from l2.designs.optimistic.errors import BatchDataUnavailable
from l2.errors import TransactionReverted
from l2.runtime.service import run_round

from .conftest import Forger, users_deposit

ETHER = 10**18


def _submit_calldata(client, prev_root: bytes, commitments, cursor: int) -> bytes:
    return bytes.fromhex(client.contract.encode_abi("submitBatch", args=[
        prev_root, client.queue_hash_at(cursor), encoding.encode_batch(commitments)])[2:])


def _deposit_batch(forger: Forger) -> tuple[bytes, list, int]:
    """(prev root, commitments, queue cursor after) of an honest batch of every waiting queue entry."""
    commitment, _ = forger.queue(forger.genesis)
    return forger.genesis.root, [commitment], commitment.count


def _raw(chain, account, fn_call, gas: int = 3_000_000, nonce_offset: int = 0) -> bytes:
    tx = fn_call.build_transaction({"from": account.address, "gas": gas, "chainId": chain.chain_id,
                                    "nonce": chain.w3.eth.get_transaction_count(account.address) + nonce_offset,
                                    **chain.fees()})
    return account.sign_transaction(tx).raw_transaction


# --- every byte a checker needs is in a transaction's input ----------------------------------------

def test_a_contract_cannot_post_a_batch(rollup_env, forger):
    """A bonded proposer contract, once the sequencer has been silent for the inclusion window, would
    let the top-level input be a decoy; the rollup refuses any sender with code."""
    env, client = rollup_env, rollup_env.client
    forwarder = env.chain.deploy("BatchForwarder", sender=env.admin)
    bond_call = bytes.fromhex(client.contract.encode_abi("depositBond")[2:])
    env.chain.transact(forwarder.functions.forward(client.address, bond_call), env.admin, value=10**18)
    assert client.bond(forwarder.address) == 10**18
    env.chain.advance_time(client.contract.functions.inclusionWindow().call() + 1)  # anyone bonded may post
    prev, commitments, cursor = _deposit_batch(forger)
    with pytest.raises(TransactionReverted, match="ProposerNotEOA") as info:
        env.chain.transact(forwarder.functions.forward(client.address, _submit_calldata(client, prev, commitments,
                                                                                        cursor)), env.admin)
    assert info.value.error_args[0].lower() == forwarder.address.lower()
    assert client.batch_count() == 0


def _send_with_delegation(chain, account, delegate: str, to: str, data: bytes):
    """An EIP-7702 (type 4) transaction from `account` that delegates its code to `delegate`."""
    nonce = chain.w3.eth.get_transaction_count(account.address)
    auth = account.sign_authorization({"chainId": chain.chain_id, "address": delegate, "nonce": nonce + 1})
    tx = {"type": 4, "chainId": chain.chain_id, "nonce": nonce, "to": to, "value": 0, "gas": 2_000_000,
          "data": data, "authorizationList": [auth], **chain.fees()}
    tx_hash = chain.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    return chain.w3.eth.wait_for_transaction_receipt(tx_hash)


@pytest.mark.parametrize("which", ["rollup_env", "rollup_anvil_env"])
def test_a_sequencer_delegated_with_eip7702_cannot_post(which, request):
    """The sequencer's own address, delegated to relaying code, could post at any time behind a decoy
    input: through its code (msg.sender == tx.origin, yet the input is the decoy) or directly. Both are
    refused while the delegation stands."""
    env = request.getfixturevalue(which)
    chain, client = env.chain, env.client
    snapshot = chain.snapshot()
    try:
        forger = Forger(env)
        forwarder = chain.deploy("BatchForwarder", sender=env.admin)
        prev, commitments, cursor = _deposit_batch(forger)
        relay = bytes.fromhex(forwarder.encode_abi("forward", args=[
            client.address, _submit_calldata(client, prev, commitments, cursor)])[2:])
        receipt = _send_with_delegation(chain, env.proposer, forwarder.address, env.proposer.address, relay)
        assert receipt.status == 0  # the relayed submitBatch reverted
        assert bytes(chain.w3.eth.get_code(env.proposer.address)) == b"\xef\x01\x00" + bytes.fromhex(
            forwarder.address[2:])
        as_relay = chain.w3.eth.contract(address=env.proposer.address, abi=forwarder.abi)
        with pytest.raises(TransactionReverted, match="ProposerNotEOA"):
            chain.transact(as_relay.functions.forward(client.address, _submit_calldata(client, prev, commitments,
                                                                                       cursor)), env.proposer)
        with pytest.raises(TransactionReverted, match="ProposerNotEOA"):  # and not directly either
            client.submit_batch(env.proposer, commitments, 0, prev)
        assert client.batch_count() == 0
    finally:
        chain.revert(snapshot)


def test_a_checker_that_cannot_rebuild_a_batch_says_so_every_time(rollup_env, forger, monkeypatch):
    """A node that serves a batch's transaction with another input (pruned, forged) leaves the checker
    unable to check it: it raises BatchDataUnavailable on every step (a round reports it as an error each
    time), never counts the batch as checked, and goes on once the data is there again."""
    env, client = rollup_env, rollup_env.client
    users_deposit(env)
    prev, commitments, _ = _deposit_batch(forger)
    forger.post(commitments)
    real = env.chain.w3.eth.get_transaction
    decoys = [
        ("not the batch its event commits to", {"input": bytes.fromhex(client.contract.encode_abi("submitBatch", args=[
            prev, b"\0" * 32, encoding.encode_batch([QueueCommitment(b"\x11" * 32, 4, (True,) * 4)])])[2:])}),
        ("does not split into commitments", {"input": _submit_calldata(client, prev, [], 0)}),
        ("calls depositBond, not submitBatch", {"input": bytes.fromhex(client.contract.encode_abi("depositBond")[2:])}),
        ("does not decode", {"input": b"\x12\x34\x56\x78" + b"\0" * 40}),
        ("not posted to the rollup directly", {"to": env.users[0].address}),
    ]
    checker = env.checker()
    for reason, fields in decoys:
        monkeypatch.setattr(env.chain.w3.eth, "get_transaction", lambda h, fields=fields: {**real(h), **fields})
        for _ in range(2):
            with pytest.raises(BatchDataUnavailable, match=reason):
                checker.step()
            assert checker.checked == []
            (event,) = run_round([checker])
            assert event.text.startswith("error:") and "batch #0" in event.text
        with pytest.raises(BatchDataUnavailable):  # nor can it list withdrawals built on it
            checker.claimables()
    monkeypatch.undo()
    assert "every root and signature checks" in checker.step()[-1].text and len(checker.checked) == 1


def test_a_reverted_batch_whose_data_is_gone_no_longer_stops_the_checker(rollup_env, forger, monkeypatch):
    """Only the standing batches must be rebuilt: one a fraud proof reverted is nobody's concern."""
    env = rollup_env
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    forger.post([deposits])
    bad, _ = forger.transfers(state, [Transfer(2, 3, 10**17)], root=b"\x13" * 32)
    fraudulent = forger.post([bad])
    env.client.prove(env.challenger, "transition", forger.transition_proof(fraudulent, 0, state))
    real = env.chain.w3.eth.get_transaction
    monkeypatch.setattr(env.chain.w3.eth, "get_transaction", lambda h: {**real(h), "to": env.users[0].address}
                        if bytes(h) == fraudulent.tx_hash else real(h))
    checker = env.checker()
    assert [e.text for e in checker.step()] == [
        "batch #0 (4 queue entries in 1 commitment) replayed from Layer-1 data: every root and signature checks"]


# --- a batch is bound to the queue entries it consumed; reorgs are replayed --------------------------

def _fields_of(chain, tx_hash) -> dict:
    """The signed fields of a mined (type 2) transaction, to broadcast it again after a reorg."""
    tx = chain.w3.eth.get_transaction(tx_hash)
    return {"type": 2, "chainId": chain.chain_id, "nonce": tx["nonce"], "to": tx["to"], "value": tx["value"],
            "gas": tx["gas"], "data": bytes(tx["input"]), "maxFeePerGas": tx["maxFeePerGas"],
            "maxPriorityFeePerGas": tx["maxPriorityFeePerGas"]}


def _broadcast_again(chain, account, fields: dict, tx_hash):
    """The same signed bytes again (RFC 6979 signatures are deterministic: same fields, same transaction)."""
    signed = account.sign_transaction(fields)
    assert bytes(signed.hash) == bytes(tx_hash)
    return chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed.raw_transaction))


@pytest.mark.parametrize("which", ["rollup_env", "rollup_anvil_env"])
def test_a_reorg_that_changes_a_consumed_deposit_cannot_get_the_honest_sequencer_slashed(which, request, tmp_path):
    """The sequencer's batch credits alice's 1 ETH; a reorg puts a 0.001 ETH deposit at the same queue
    index. The very same batch transaction, included again, fails (QueueHashMismatch); every checker
    follows the new branch, and the sequencer posts again on it, with its bond untouched."""
    env = request.getfixturevalue(which)
    chain, client = env.chain, env.client
    snapshot = chain.snapshot()
    try:
        alice = env.users[0]
        sequencer = env.sequencer(tmp_path)
        running = env.checker()
        fork = chain.snapshot()  # the chain will fork here
        client.deposit_eth(alice, ETHER)
        (posted,) = run_round([sequencer], urgent=True)
        assert "posted batch #0" in posted.text
        assert "every root and signature checks" in run_round([running])[0].text
        assert running.state.account(2).balance == ETHER
        bond = client.bond(env.proposer.address)
        log = client.contract.events.BatchSubmitted().get_logs(from_block=0)[-1]
        fields = _fields_of(chain, log.transactionHash)

        chain.revert(fork)  # the reorg: the other branch has a 0.001 ETH deposit at the same queue index
        client.deposit_eth(alice, 10**15)
        again = _broadcast_again(chain, env.proposer, fields, log.transactionHash)
        assert again.status == 0  # the very same batch transaction, included again, fails
        _, args = client.contract.decode_function_input(fields["data"])
        with pytest.raises(TransactionReverted, match="QueueHashMismatch"):
            chain.call(client.contract.functions.submitBatch(*args.values()), env.proposer)
        assert client.batch_count() == 0

        assert run_round([running]) == [] and running.checked == []  # the 1 ETH credit left with its branch
        assert running.state.root == running.genesis.root
        assert run_round([env.checker()]) == []  # nothing for a late checker to prove

        events = run_round([sequencer], urgent=True)  # it re-reads Layer 1 and posts on the new branch
        assert "posted batch #0" in events[-1].text
        fresh = env.checker()
        assert "every root and signature checks" in run_round([fresh])[0].text
        assert fresh.state.account(2).balance == 10**15
        run_round([running])
        assert running.state.root == fresh.state.root == client.tip_root()
        assert client.bond(env.proposer.address) == bond
        sequencer.close()
    finally:
        chain.revert(snapshot)


def test_a_batch_with_the_same_header_on_another_branch_is_replayed_again(rollup_env, forger):
    """The header Layer 1 hashes does not hold the queue entries a batch consumed: on another branch,
    the same commitments can be posted again over another deposit, at the same height and time, under
    an identical header (the queue hash binds what the proposer passes, not the header). There they are
    fraud: a checker that kept batches by header skipped them; it must replay them and prove them."""
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    alice = env.users[0]
    checker = env.checker()
    fork = chain.snapshot()
    when = chain.now() + 1_000
    client.deposit_eth(alice, ETHER)
    chain.tester.time_travel(when)
    commitment, _ = forger.queue(forger.genesis)
    honest = forger.post([commitment])
    assert "every root and signature checks" in checker.step()[-1].text

    chain.revert(fork)
    client.deposit_eth(alice, 5 * 10**17)  # another deposit at the same queue index
    chain.tester.time_travel(when)
    replayed = forger.post([commitment])  # its root credits 1 ETH: fraud on this branch
    assert replayed.header == honest.header and replayed.block_hash != honest.block_hash
    events = checker.step()
    assert "batch #0 is fraudulent" in events[0].text and "the transition proof" in events[1].text
    assert checker.proven == 1 and client.batch_count() == 0 and client.bond(env.proposer.address) == 0


def test_after_a_reorg_the_checker_replays_every_batch_from_the_first_changed_block(rollup_env, forger):
    env, chain = rollup_env, rollup_env.chain
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    forger.post([deposits])
    checker = env.checker()
    checker.step()
    first = checker.checked[0]
    fork = chain.snapshot()
    payment, _ = forger.transfers(state, [Transfer(2, 3, 10**17)])
    forger.post([payment])
    assert len(checker.step()) == 1 and len(checker.checked) == 2
    chain.revert(fork)
    chain.mine()  # on the new branch the same batch lands one block later
    again = forger.post([payment])
    events = checker.step()
    assert [e.text for e in events] == [
        "batch #1 (1 transfer in 1 commitment) replayed from Layer-1 data: every root and signature checks"]
    assert checker.checked[0] is first  # its block did not change: not replayed
    assert checker.checked[1].batch.block_hash == again.block_hash == bytes(
        chain.w3.eth.get_block(chain.w3.eth.block_number)["hash"])


def test_a_batch_posted_and_reverted_in_one_block_does_not_stand(rollup_env, forger):
    """In one block the proposer posts batch #2 on its fraudulent batch #1, then the fraud proof of #1
    reverts both. Read in Layer 1's order (log index), #2 is gone; ordering a block's reverts before its
    posts kept it standing, with the withdrawal in it listed as claimable."""
    env, chain, client = rollup_env, rollup_env.chain, rollup_env.client
    users_deposit(env)
    deposits, state = forger.queue(forger.genesis)
    honest = forger.post([deposits])
    bad, _ = forger.transfers(state, [Transfer(2, 3, 10**17)], root=b"\x13" * 32)
    fraudulent = forger.post([bad])
    proof = forger.transition_proof(fraudulent, 0, state)
    f = client.contract.functions
    chain.transact(f.commitChallenge(f.transitionCommitmentOf(proof, env.challenger.address).call()), env.challenger)
    later, _ = forger.transfers(state, [Withdrawal(3, 10**17)], root=b"\x14" * 32)
    submit = f.submitBatch(b"\x13" * 32, client.queue_hash_at(client.queue_head()), encoding.encode_batch([later]))
    chain.tester.disable_auto_mine_transactions()
    try:
        hashes = [chain.w3.eth.send_raw_transaction(_raw(chain, env.proposer, submit)),
                  chain.w3.eth.send_raw_transaction(_raw(chain, env.challenger, f.challengeTransition(proof)))]
        chain.mine()
    finally:
        chain.tester.enable_auto_mine_transactions()
    posted, reverted = (chain.w3.eth.get_transaction_receipt(h) for h in hashes)
    assert posted.blockNumber == reverted.blockNumber and posted.status == reverted.status == 1
    assert posted.transactionIndex < reverted.transactionIndex and client.batch_count() == 1
    checker = env.checker()
    assert [b.header for b in checker.standing()] == [honest.header]
    assert "every root and signature checks" in checker.step()[-1].text and len(checker.checked) == 1
    assert checker.claimables() == []
