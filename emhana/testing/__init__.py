"""Helpers for tests and benchmarks: scratch databases; fakes of external systems go here too."""
