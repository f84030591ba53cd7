"""Amounts as the tables and banners print them."""

import pytest

from l2.output import ETHER, eth


@pytest.mark.parametrize("wei, decimals, shown", [
    (5 * ETHER, 0, "5 ETH"),                    # a dev chain's banner: unchanged
    (10**16, 0, "0.01 ETH"),                    # the same banner on a node without dev accounts: not "0 ETH"
    (5 * 10**15, 0, "0.005 ETH"),
    (ETHER // 2, 0, "0.5 ETH"),
    (125 * 10**14, 0, "0.0125 ETH"),            # three significant digits once it is below two
    (77 * 10**14, 4, "0.0077 ETH"),             # two significant digits already: as before
    (ETHER // 10, 4, "0.1000 ETH"),             # never fewer decimals than asked
    (4 * 10**13, 4, "0.00004 ETH"),
    (-(10**16), 0, "-0.01 ETH"),
    (0, 4, "0.0000 ETH"),                       # zero is exact as it is
    (1_234_567 * ETHER, 4, "1,234,567.0000 ETH"),
])
def test_amounts_below_one_ether_stay_legible(wei, decimals, shown):
    assert eth(wei, decimals) == shown
