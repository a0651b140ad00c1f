"""Loaded by Python's ``site`` in the benchmark's ``controls_off`` processes only (their
PYTHONPATH starts with this folder): see controls_off_patches.py."""

from controls_off_patches import install

install()
