"""KATO parent derivation (shared/data/kato/README.md) and the loaded classifier."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from emhana.reference.loader import kato_rows, region_rows
from emhana.reference.models import KatoUnit, Region
from emhana.reference.rules import is_kato_code, parent_candidates, parent_of


def test_chain_of_the_readme_example() -> None:
    known = {r["code"] for r in kato_rows()}
    chain = ["103233127"]
    while (parent := parent_of(chain[-1], known)) is not None:
        chain.append(parent)
    assert chain == ["103233127", "103233100", "103233000", "103200000", "100000000"]


def test_okrug_is_not_child_of_its_sibling() -> None:
    known = {"100000000", "103200000", "103230000", "103233000"}
    assert parent_of("103233000", known) == "103200000"


def test_candidates_skip_the_code_itself() -> None:
    assert "100000000" not in parent_candidates("100000000")


def test_every_non_oblast_row_has_a_parent() -> None:
    rows = kato_rows()
    assert len(rows) == 15594
    orphans = [r["code"] for r in rows if r["parent_code"] is None and r["level"] != "oblast"]
    assert orphans == []
    assert sum(1 for r in rows if r["level"] == "oblast") == 20
    position = {r["code"]: i for i, r in enumerate(rows)}
    assert all(position[r["parent_code"]] < position[r["code"]] for r in rows if r["parent_code"])


def test_parent_levels_match_the_readme_counts() -> None:
    rows = {r["code"]: r for r in kato_rows()}
    pairs: dict[tuple[str, str], int] = {}
    for r in rows.values():
        if r["parent_code"]:
            key = (r["level"], rows[r["parent_code"]]["level"])
            pairs[key] = pairs.get(key, 0) + 1
    assert pairs[("settlement", "settlement")] == 6934
    assert pairs[("settlement", "sub_district")] == 6016
    assert pairs[("sub_district", "district")] == 2360
    assert pairs[("district", "oblast")] == 209


def test_shape() -> None:
    assert is_kato_code("710000000") and not is_kato_code("71000000") and not is_kato_code("71000000a")


def test_migration_loaded_the_classifier_and_regions(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(KatoUnit)) == 15594
    assert session.get(KatoUnit, "103233127").parent_code == "103233100"  # type: ignore[union-attr]
    assert session.scalar(select(func.count()).select_from(Region)) == 20 == len(region_rows())
    astana = session.get(Region, "710000000")
    assert astana is not None and astana.name_kk == "Астана қ."
