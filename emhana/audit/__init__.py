"""Audit: who read or changed what, idempotent replays of write requests, and the hash chains over history."""

from emhana.trust.chain import links as chain
