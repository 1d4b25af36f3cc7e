"""Which fields of an account the hash chains cover: who may do what, where, and whether at all.

The chain itself lives above this layer (``emhana.trust.chain.kinds`` registers the ``account`` kind with these
fields, one link per account and a new ``update`` link at every change written through the application), so a
role, an organization or a state changed in SQL is named by ``emhana audit verify``.

Adding a field: append it here. A column that a migration after 0016 adds to rows already linked goes into
``ACCOUNT_OPTIONAL_FIELDS`` instead (hashed only when not NULL, so the links made before it still verify).
Volatile columns (counters, last sign-in) stay out: every write of a chained field appends a link.
"""

ACCOUNT_FIELDS = ("username", "role", "person_id", "entity_id", "active", "deactivated_at", "created_by")
ACCOUNT_OPTIONAL_FIELDS: tuple[str, ...] = ()
