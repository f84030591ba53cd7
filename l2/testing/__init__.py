"""Testing with l2: the pytest plugin (`plugin.py`, loaded by pytest through the `pytest11` entry point)."""
