"""Keep the focused benchmarks alive: tiny runs of their entry points that only check that figures come out."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("numpy")

from emhana.devtools.bench.focused import attach as bench_attach  # noqa: E402
from emhana.devtools.bench.focused import capitation as bench_capitation  # noqa: E402
from emhana.devtools.bench.focused import load as bench_load  # noqa: E402
from emhana.devtools.bench.focused import near as bench_near  # noqa: E402
from emhana.testing.databases import postgres_test_url  # noqa: E402


def test_bench_near_smoke_on_sqlite(tmp_path: Path) -> None:
    figures = bench_near.main(["--smoke", "--database-url", f"sqlite:///{tmp_path / 'near.db'}"])
    assert figures["sites"] > 100 and figures["near_qps"] > 0 and figures["brute_qps"] > 0
    assert figures["recall"] == 1.0


@pytest.mark.postgres
def test_bench_near_and_load_smoke_on_postgres() -> None:
    base = postgres_test_url()
    if base is None:
        pytest.skip("EMHANA_TEST_DATABASE_URL is not set")
    near = bench_near.main(["--smoke", "--database-url", base])
    assert near["recall"] == 1.0
    load = bench_load.main(["--smoke", "--database-url", base])
    assert load["same_rows"] == 1.0
    assert all(
        load[k] > 0
        for k in (
            "generator_rows_per_s",
            "raw_plain_write_row_rows_per_s",
            "raw_real_write_row_rows_per_s",
            "generate_only_rows_per_s",
        )
    )


@pytest.mark.postgres
def test_bench_attach_and_capitation_smoke_on_postgres() -> None:
    base = postgres_test_url()
    if base is None:
        pytest.skip("EMHANA_TEST_DATABASE_URL is not set")
    attach = bench_attach.main(["--smoke", "--database-url", base])
    for c in (1, 8):
        assert attach[f"service_{c}_tps"] > 0 and attach[f"raw_{c}_tps"] > 0
        assert attach[f"service_{c}_p99_ms"] > 0 and attach[f"raw_{c}_p50_ms"] > 0 and attach[f"ratio_{c}"] > 0
        assert attach[f"raw_full_{c}_tps"] > 0 and attach[f"ratio_full_{c}"] > 0
        # Every transaction of the three kinds went through: raw_full refuses (raises) as the service would.
        assert attach[f"raw_{c}_errors"] == attach[f"raw_full_{c}_errors"] == attach[f"service_{c}_errors"] == 0
    assert attach["overbooked_districts"] == attach["double_attached"] == 0
    assert attach["chain_findings"] == 0  # the service and raw_full leave the appliers' chains verifying clean
    cap = bench_capitation.main(["--smoke", "--database-url", base])
    assert all(cap[k] > 0 for k in ("bare_s", "compute_s", "snapshot_s", "snapshot_20m_extrapolated_s"))
    assert "snapshot_total" in cap
