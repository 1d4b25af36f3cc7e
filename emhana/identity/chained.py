"""Which fields of a person and of a legal representation the hash chains cover.

The chains live above this layer (``emhana.trust.chain.kinds`` registers the ``person`` and ``representation``
kinds with these fields): each row gets a link when it is written and a new ``update`` link at every change
written through the application, so an IIN, a name, a birth date or a representation changed, added or removed
in SQL is named by ``emhana audit verify``.

Adding a field: append it here. A column that a migration after 0016 adds to rows already linked goes into the
``*_OPTIONAL_FIELDS`` tuple instead (hashed only when not NULL, so the links made before it still verify).
"""

PERSON_FIELDS = ("iin", "surname", "given_name", "patronymic", "birth_date", "sex", "category", "death_date")
PERSON_OPTIONAL_FIELDS: tuple[str, ...] = ()

REPRESENTATION_FIELDS = (
    "representative_id",
    "represented_id",
    "basis",
    "document_kind",
    "document_number",
    "basis_document",
    "valid_from",
    "valid_to",
)
REPRESENTATION_OPTIONAL_FIELDS: tuple[str, ...] = ()
