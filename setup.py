"""Builds the optional compiled twins of hot code; everything else is configured in pyproject.toml."""

from setuptools import Extension, setup

# Optional: without a C compiler the install still succeeds, and the pure-Python twins are used.
setup(ext_modules=[
    Extension("simulator.smpp._speedups", ["simulator/smpp/_speedups.c"], optional=True),
    Extension("simulator.core._speedups", ["simulator/core/_speedups.c"], optional=True),
])
