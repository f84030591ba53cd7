"""The watcher answers a stale close on its own, within the challenge period, then settles."""

from __future__ import annotations


from l2.channels.watcher import ChannelWatcher

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
    settled = registry.events.ChannelSettled().get_logs(from_block=0, argument_filters={"channelId": party_a.channel_id})
    assert (settled[-1].args.payoutA, settled[-1].args.payoutB) == (ETHER - 6 * 10**17, ETHER + 6 * 10**17)
    assert chain.balance(registry.address) == 0


def test_watcher_leaves_an_honest_close_alone(chain, channel, pay):
    party_a, party_b = channel
    pay(party_a, party_b, 10**17)
    watcher = ChannelWatcher(party_b, settle=False)
    party_a.close()  # the latest state: nothing to answer
    assert watcher.poll() == []
    assert len(watcher.closes) == 1
