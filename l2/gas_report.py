"""`l2 gas-report` (being written)."""


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise NotImplementedError("gas-report is being written")
