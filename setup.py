# Shim for tooling that still calls setup.py; the build is described in pyproject.toml (flit_core).
from setuptools import setup

setup()
