"""Conservation on Layer 1 (hypothesis), whatever the order of deposits, burns, checkpoints, exits, held
exits, stakes, unstakes, withdrawals and slashes:

- the bridge: locked = deposits - exits proven, and the contract holds locked + what it still owes;
- the stakes: bonded = staked - withdrawn - slashed, the contract holds bonded + burned, and the stake
  counting this epoch is the sum of the voting powers.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2.core.crypto import Signer
from l2.designs.sidechain import bridge
from l2.designs.sidechain.messages import PREVOTE, sign_vote

from .conftest import ETHER, HOLD_PERIOD, SIGNERS, STAKES, block_hashes

amounts = st.integers(min_value=1, max_value=4 * ETHER)
bridge_ops = st.lists(st.one_of(
    st.tuples(st.just("deposit"), amounts),
    st.tuples(st.just("burn"), amounts),
    st.tuples(st.just("checkpoint"), st.just(0)),
    st.tuples(st.just("exit"), st.integers(0, 50)),
    st.tuples(st.just("release"), st.just(0)),
), max_size=14)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=bridge_ops)
def test_the_bridge_holds_what_it_locked_and_owes(env, ops):
    snapshot = env.chain.snapshot()
    env.burns = []
    try:
        dm = env.l1.deposit_manager.address
        recipients = [env.chain.accounts[8].address, env.chain.accounts[9].address]
        start_balances = [env.chain.balance(r) for r in recipients]
        deposited = proven = 0
        sidechain_supply = 0  # deposits minus burns: what the sidechain's balances add up to
        queued, exitable, held = [], [], []  # burns waiting for a checkpoint; (number, cp, burns, i); (burn, at)
        for op, value in ops:
            if op == "deposit":
                env.l1.deposit_ether(env.user, env.user.address, value)
                deposited += value
                sidechain_supply += value
            elif op == "burn" and value <= sidechain_supply:
                block = env.l1.last_end() + 1 + len(queued)
                queued.append(env.burn(block, recipients[len(env.burns) % 2], value))
                sidechain_supply -= value
            elif op == "checkpoint":
                end = env.l1.last_end() + max(1, len(queued))
                number, cp = env.checkpoint(end, queued)
                exitable += [(number, cp, queued, i) for i in range(len(queued))]
                queued = []
            elif op == "exit" and exitable:
                number, cp, burns, i = exitable.pop(value % len(exitable))
                receipt = env.l1.exit(env.mallory, number, cp, burns, i)
                proven += burns[i].amount
                held += [(burns[i], e.releaseAt)
                         for e in env.chain.events(receipt, env.l1.deposit_manager, "ExitHeld")]
            elif op == "release" and held:
                env.chain.advance_time(HOLD_PERIOD)
                burn, at = held.pop()
                env.l1.release_held(env.user, burn, at)
            locked, owed = env.l1.locked(), env.l1.pending_payouts()
            assert locked == deposited - proven
            assert env.chain.balance(dm) == locked + owed
            assert owed == sum(b.amount for b, _ in held)
            paid = sum(env.chain.balance(r) - b for r, b in zip(recipients, start_balances, strict=True))
            assert paid == proven - owed
    finally:
        env.chain.revert(snapshot)


stake_ops = st.lists(st.one_of(
    st.tuples(st.just("stake"), st.integers(1, 5)),
    st.tuples(st.just("unstake"), st.integers(0, 9)),
    st.tuples(st.just("withdraw"), st.integers(0, 9)),
    st.tuples(st.just("slash"), st.integers(0, 9)),
    st.tuples(st.just("checkpoint"), st.just(0)),
), max_size=14)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=stake_ops)
def test_stake_accounting_is_staked_minus_withdrawn_minus_slashed(env, ops):
    snapshot = env.chain.snapshot()
    try:
        sm = env.l1.stake_manager.address
        owner = env.chain.accounts[8]
        signers = list(SIGNERS)
        owners = {s.address: o for s, o in zip(SIGNERS, env.owners, strict=True)}
        staked, withdrawn, slashed, rewarded = sum(STAKES), 0, 0, 0
        for op, value in ops:
            pick = signers[value % len(signers)]
            # 1 bonded, 2 unbonding (read only where it decides)
            status = env.l1.sm.validators(pick.address).call()[3] if op in ("unstake", "withdraw", "slash") else 0
            if op == "stake" and env.l1.sm.pending().call()[2] < env.l1.sm.maxValidators().call():
                new = Signer(bytes([0xA0 + len(signers)]) * 32)
                env.l1.stake(owner, new.address, value * ETHER)
                signers.append(new)
                owners[new.address] = owner
                staked += value * ETHER
            elif op == "unstake" and status == 1:
                env.l1.unstake(owners[pick.address], pick.address)
            elif op == "withdraw" and status == 2 and env.l1.epoch() >= (
                    env.l1.sm.validators(pick.address).call()[2] + env.l1.sm.unbondingDelay().call()):
                env.l1.withdraw_stake(owners[pick.address], pick.address)
                withdrawn += env.l1.sm.validators(pick.address).call()[0]
            elif op == "slash" and status in (1, 2):
                amount = env.l1.sm.validators(pick.address).call()[0]
                domain = env.l1.vote_domain()
                pair = [sign_vote(pick, domain, 1, 0, PREVOTE, h) for h in (b"\x01" * 32, b"\x02" * 32)]
                env.l1.slash_double_vote(env.mallory, *pair)
                slashed += amount
                rewarded += amount // 10
            elif op == "checkpoint":
                active = [s for s in signers if env.l1.voting_power(s.address) > 0]
                if active:
                    start = env.l1.last_end() + 1
                    cp = bridge.make_checkpoint(start, block_hashes(start, start), [])
                    env.l1.submit_checkpoint(env.chain.accounts[0], cp, env.sign(cp, active))
            bonded = env.l1.sm.bonded().call()
            assert bonded == staked - withdrawn - slashed
            assert env.chain.balance(sm) == bonded + env.l1.sm.burned().call()
            assert env.l1.sm.burned().call() == slashed - rewarded
        assert env.l1.total_stake() == sum(env.l1.voting_power(s.address) for s in signers)
    finally:
        env.chain.revert(snapshot)


def test_python_exit_proofs_verify_on_layer1_for_every_position(env):
    """The Merkle twin: every burn of a checkpoint (odd counts pad with zero) proves with bridge.exit_proof."""
    env.l1.deposit_ether(env.user, env.user.address, 10 * ETHER)
    burns = [env.burn(1 + i // 2, env.chain.accounts[8].address, i + 1) for i in range(7)]
    number, cp = env.checkpoint(4, burns)
    for i, burn in enumerate(burns):
        assert bytes(env.l1.dm.burnLeaf(burn.as_tuple()).call()) == burn.leaf
        env.l1.exit(env.user, number, cp, burns, i)
    assert env.l1.locked() == 10 * ETHER - sum(range(1, 8))
    assert bridge.exit_root([]) == bridge.ZERO_ROOT
