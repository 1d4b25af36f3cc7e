"""The sizes of one benchmark run: persons, medical books, journal entries and how much each part measures."""

from __future__ import annotations

from dataclasses import dataclass

NATIONAL_PERSONS = 20_500_000
NATIONAL_BOOKS = 1_600_000  # workers with a personal medical book (docs/scale.md)
NATIONAL_ENTRIES = 3_000_000  # their journal entries


@dataclass(frozen=True)
class Scale:
    """One benchmark size; books and entries follow the population in the national proportion."""

    name: str
    persons: int
    campaign_transactions: int  # per configuration (kind x clients)
    near_queries: int
    seal_calls: int
    fhir_entries: int
    http_seconds: float  # per endpoint, after a warm-up
    clients: tuple[int, ...] = (1, 8, 32)
    http_connections: int = 16
    http_warm_up: float = 2.0  # seconds per endpoint before the timed window
    campaign_warm_up: int = 2  # untimed transactions per client
    baseline_persons: int | None = None  # persons re-loaded by the raw COPY baseline (None: all)
    http_sample: int = 2_000  # persons and books the HTTP reads draw from (each answers 200 once before timing)
    profile_seconds: float = 30.0  # each load profile's timed window (open loop), after http_warm_up

    @property
    def books(self) -> int:
        return max(50, round(self.persons * NATIONAL_BOOKS / NATIONAL_PERSONS))

    @property
    def entries(self) -> int:
        return max(self.books, round(self.persons * NATIONAL_ENTRIES / NATIONAL_PERSONS))


SCALES: dict[str, Scale] = {
    "smoke": Scale(
        "smoke",
        10_000,
        campaign_transactions=32,
        near_queries=20,
        seal_calls=200,
        fhir_entries=40,
        http_seconds=2.0,
        http_connections=8,
        http_warm_up=0.5,
        campaign_warm_up=1,
        http_sample=100,
        profile_seconds=3.0,
    ),
    "1m": Scale(
        "1m",
        1_000_000,
        campaign_transactions=1_600,
        near_queries=1_000,
        seal_calls=2_000,
        fhir_entries=800,
        http_seconds=15.0,
    ),
    "5m": Scale(
        "5m",
        5_000_000,
        campaign_transactions=1_600,
        near_queries=1_000,
        seal_calls=2_000,
        fhir_entries=800,
        http_seconds=15.0,
    ),
    "full": Scale(
        "full",
        NATIONAL_PERSONS,
        campaign_transactions=3_200,
        near_queries=2_000,
        seal_calls=2_000,
        fhir_entries=2_000,
        http_seconds=20.0,
        baseline_persons=5_000_000,
    ),
}
