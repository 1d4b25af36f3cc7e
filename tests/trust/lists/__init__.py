"""Tests of the signed trust and revocation lists."""
