"""Tests of the hash chains and `audit verify`."""
