"""Near search (issue 18): a GiST index on point(lon * 0.67, lat) of sites (PostgreSQL only).

Degrees of longitude times 0.67 (about the cosine of 48 degrees, the middle of Kazakhstan's latitudes) make a planar
distance within about 15 % of the great-circle one over the country, where plain degrees overstate east-west
distances by 30-75 %: the near search's KNN scan needs about half as many candidates to prove its answer
(emhana/attachment/nearby.py, docs/near-search.md). ``ix_site_point`` (0005) stays for facilities.service.near.
The expression is the model's (facilities.models.squeezed_point), so that the planner matches the index.

Revision ID: 0041
Revises: 0040
"""

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_site_point_squeezed ON site USING gist (point(lon * 0.67, lat))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_site_point_squeezed")
