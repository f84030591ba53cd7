"""`l2 demo`: the whole story on the embedded chain and on anvil."""


def test_demo_runs_end_to_end(chain, capsys):
    from rich.console import Console

    from l2.demo import run_demo

    run_demo(chain, Console(width=160))
    text = capsys.readouterr().out
    assert "Layer-1 contracts deployed" in text and "demo finished" in text
    for contract in ("TestToken", "ChannelRegistry", "Rollup"):
        assert contract in text
    assert "1000 signed payments" in text and "watcher answered" in text  # channels section
    assert "fraud proof accepted" in text and "claimed" in text  # rollup section


def test_demo_runs_against_anvil(anvil_chain, capsys):
    from rich.console import Console

    from l2.demo import run_demo

    run_demo(anvil_chain, Console(width=160))
    text = capsys.readouterr().out
    assert "anvil" in text and "fraud proof accepted" in text and "demo finished" in text
