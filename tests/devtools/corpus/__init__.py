"""Tests of the seal conformance corpus."""
