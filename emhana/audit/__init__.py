"""Audit: who read or changed what, and idempotent replays of write requests (hash chains: emhana.trust.chain)."""
