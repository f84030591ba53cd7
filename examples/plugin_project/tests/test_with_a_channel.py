"""Using an l2 design in one's tests: its contracts deployed once per session, its operators per test."""

ETHER = 10**18


def test_a_stale_close_is_answered_by_the_partners_watcher(operators, time_travel):
    channels = operators("channels")  # alice and bob's channel, 5 ETH each, both watched
    alice, bob = channels.alice_channel, channels.bob_channel
    channels.pay(alice, bob, ETHER // 10)
    stale = alice.latest
    channels.pay(alice, bob, ETHER // 10)
    alice.close(stale)  # alice closes with the state that paid bob less

    events = channels.step()  # bob's watcher sees the close and answers with the newer state

    assert any("answered with the newer state" in event for event in events), events


def test_the_designs_contracts_are_deployed_once_per_session(designs, chain):
    registry = designs["channels"].contracts["ChannelRegistry"]
    assert chain.w3.eth.get_code(registry.address)
    assert {d.design.name for d in designs} >= {"channels"}
