"""`l2 sandbox` (being written)."""


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    raise NotImplementedError("sandbox is being written")
