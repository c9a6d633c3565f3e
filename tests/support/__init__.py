"""What the tests share that is not a fixture: factories, simulated outside parties, the
search catalogue, the standards' reference files, browser and job helpers.

Test modules import from here, never from one another; fixtures live in the conftest.py files.
"""
