"""The EIP-712 hashing of states, three ways: ours, eth-account's reference and the Adjudicator's."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from l2.core.crypto import Signer
from l2.designs.statechannels import messages as m
from l2.designs.statechannels.rules import FixedPart, VariablePart

states = st.builds(VariablePart, st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=3).map(tuple),
                   st.binary(max_size=100), st.integers(0, 2**48 - 1), st.booleans())


@settings(max_examples=25, deadline=None)
@given(state=states)
def test_state_digest_matches_eth_account_and_the_adjudicator(chain, adjudicator, alice, state):
    fixed = FixedPart((alice.address,), 7, adjudicator.address, 60)
    domain = m.Domain(chain.chain_id, adjudicator.address)
    typed = {
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                             {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "State": [{"name": "channelId", "type": "bytes32"}, {"name": "messageType", "type": "uint8"},
                      {"name": "outcome", "type": "uint256[]"}, {"name": "appData", "type": "bytes"},
                      {"name": "turnNum", "type": "uint48"}, {"name": "isFinal", "type": "bool"}],
        },
        "primaryType": "State",
        "domain": {"name": "Adjudicator", "version": "1", "chainId": chain.chain_id,
                   "verifyingContract": adjudicator.address},
        "message": {"channelId": fixed.channel_id, "messageType": 1, "outcome": list(state.outcome),
                    "appData": state.app_data, "turnNum": state.turn_num, "isFinal": state.is_final},
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), alice.key)
    ours = m.sign_state(Signer(bytes(alice.key)), domain, fixed.channel_id, state)
    assert m.signer_of(domain, fixed.channel_id, state, bytes(signed.signature)) == alice.address
    assert m.signer_of(domain, fixed.channel_id, state, ours) == alice.address
    assert chain.call(adjudicator.functions.stateHashOf(fixed.channel_id, state.as_tuple())) == \
        m.state_hash(fixed.channel_id, state)


def test_channel_id_and_domain_match_the_adjudicator(chain, adjudicator, alice, bob):
    fixed = FixedPart((alice.address, bob.address), 3, adjudicator.address, 60)
    assert chain.call(adjudicator.functions.channelIdOf(fixed.as_tuple())) == fixed.channel_id
    domain = m.Domain(chain.chain_id, adjudicator.address)
    assert chain.call(adjudicator.functions.domainSeparator()) == domain.separator
    assert chain.call(adjudicator.functions.STATE_TYPEHASH()) == m.STATE_TYPEHASH
    assert chain.call(adjudicator.functions.CHALLENGE_TYPEHASH()) == m.CHALLENGE_TYPEHASH
