"""Issue 18, the near search: no change to the schema (a link of the chain kept whole).

The near search with free places (``emhana.attachment.nearby``, docs/near-search.md) reads what earlier migrations
built: the GiST index ``ix_site_point`` on ``point(lon, lat)`` (0005) and the loads kept in ``district_load`` by
triggers (0031). Nothing to add, nothing to take away.

Revision ID: 0036
Revises: 0035
"""

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
