"""The watcher answers a stale close on its own, within the challenge period, then settles."""

from __future__ import annotations

from l2.designs.channels.watcher import ChannelWatcher

PERIOD = 100
ETHER = 10**18


def _wait(event, seconds=20.0):
    assert event.wait(seconds), "the watcher did not act in time"


def test_watcher_answers_a_stale_close_and_settles_without_being_asked(chain, registry, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 3 * 10**17)
    stale = party_a.latest
    pay(party_a, party_b, 3 * 10**17)  # Bob is owed 0.6 now

    watcher = ChannelWatcher(party_b, poll_interval=0.01)
    with watcher:
        with watcher.lock:  # the embedded chain is one in-process object: take turns with the watcher
            party_a.close(stale)
        _wait(watcher.answered)
        with watcher.lock:
            chain.advance_time(PERIOD)
        _wait(watcher.settled)
    assert [a for a, _ in watcher.actions if a != "error"] == ["updated", "settled"]
    settled = registry.events.ChannelSettled().get_logs(from_block=0,
                                                        argument_filters={"channelId": party_a.channel_id})
    assert (settled[-1].args.payoutA, settled[-1].args.payoutB) == (ETHER - 6 * 10**17, ETHER + 6 * 10**17)
    assert chain.balance(registry.address) == 0


def test_watcher_leaves_an_honest_close_alone(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 10**17)
    watcher = ChannelWatcher(party_b, settle=False)
    party_a.close()  # the latest state: nothing to answer
    assert watcher.poll() == []
    assert len(watcher.closes) == 1


def test_watcher_leaves_a_stale_close_that_favours_its_party(chain, channel, pay):
    """Answering with a newer nonce would cost Bob: he paid Alice back since the closing state."""
    party_a, party_b = channel
    pay(party_a, party_b, 3 * 10**17)
    generous = party_a.latest  # Bob holds 1.3 ETH here...
    pay(party_b, party_a, 2 * 10**17)  # ...and 1.1 ETH in the newest state
    party_a.close(generous)
    watcher = ChannelWatcher(party_b, settle=False)
    assert watcher.poll() == []
    channel_state, closing_balance_a = party_a.onchain_state()
    assert channel_state[6] == generous.proof.nonce and closing_balance_a == ETHER - 3 * 10**17


def test_own_watcher_does_not_rescue_its_partner_from_our_stale_close(chain, channel, pay):
    """Alice closes on a state that pays her more; her own watcher must not 'correct' it, Bob's must."""
    party_a, party_b = channel
    pay(party_a, party_b, 10**17)
    stale = party_a.latest
    pay(party_a, party_b, 10**17)
    party_a.close(stale)
    assert ChannelWatcher(party_a, settle=False).poll() == []
    assert ChannelWatcher(party_b, settle=False).poll() == [("updated", party_b.nonce)]


def test_own_watcher_corrects_our_close_on_a_state_that_shortchanges_us(chain, channel, pay):
    """Alice closes on an old state from before Bob paid her (a restored backup, say): her watcher fixes it."""
    party_a, party_b = channel
    old = party_a.latest
    pay(party_b, party_a, 4 * 10**17)
    party_a.close(old)
    assert ChannelWatcher(party_a, settle=False).poll() == [("updated", party_a.nonce)]
    _, closing_balance_a = party_a.onchain_state()
    assert closing_balance_a == ETHER + 4 * 10**17
