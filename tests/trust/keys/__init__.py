"""Tests of keys and certificates, and the demo-shaped PKI."""
