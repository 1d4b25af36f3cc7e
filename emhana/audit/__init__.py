"""Audit: who read or changed what, idempotent replays of write requests, and the hash chains over history."""

from emhana.audit import chain as chain  # registers the session events that link new rows into their chains
