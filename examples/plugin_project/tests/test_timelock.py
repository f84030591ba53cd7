"""Testing one's own contract (contracts/TimeLock.sol) with l2's pytest plugin: see docs/testing.md."""

import pytest

from l2.errors import TransactionReverted

DAY = 24 * 3600
ETHER = 10**18


@pytest.fixture
def lock(chain, accounts):
    """1 ETH of alice's, locked for a day (deployed in the test's snapshot: gone after it)."""
    return chain.deploy("TimeLock", DAY, sender=accounts.alice, value=ETHER)


def test_the_owner_cannot_release_before_the_delay(chain, accounts, lock):
    with pytest.raises(TransactionReverted, match="StillLocked") as reverted:
        chain.transact(lock.functions.release(), accounts.alice)
    assert reverted.value.error_args == (lock.functions.unlocksAt().call(),)


def test_nobody_else_can_release(chain, accounts, lock, time_travel):
    time_travel(DAY)
    with pytest.raises(TransactionReverted, match="NotOwner") as reverted:
        chain.transact(lock.functions.release(), accounts.bob)
    assert reverted.value.error_args == (accounts.bob.address.lower(),)  # decoded addresses come lower-case


def test_the_owner_releases_everything_after_the_delay(chain, accounts, lock, time_travel):
    time_travel(DAY)
    before = chain.balance(accounts.alice.address)
    receipt = chain.transact(lock.functions.release(), accounts.alice)
    assert chain.balance(lock.address) == 0
    assert chain.balance(accounts.alice.address) == before + ETHER - receipt.gasUsed * receipt.effectiveGasPrice


def test_every_test_starts_from_the_session_state(chain, accounts):
    """The lock fixture deployed from alice's account in other tests; each was reverted after its test."""
    assert chain.w3.eth.get_transaction_count(accounts.alice.address) == SESSION_NONCES["alice"]


SESSION_NONCES: dict[str, int] = {}


@pytest.fixture(scope="session", autouse=True)
def _session_nonces(chain, accounts):
    SESSION_NONCES["alice"] = chain.w3.eth.get_transaction_count(accounts.alice.address)
