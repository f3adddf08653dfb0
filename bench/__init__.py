"""Benchmarks: scripts that print their figures (`python -m bench.<name>`); not run by pytest."""
