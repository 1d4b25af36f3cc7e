"""Read-heavy parts: the capitation snapshot beside a bare GROUP BY, and the nearest participating sites with
free places beside a brute-force scan of every site."""

from __future__ import annotations

import datetime as dt
import math
import random
import time

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from emhana.attachment import capitation
from emhana.attachment.application.service import near_free
from emhana.devtools.bench.dataset import raw_url
from emhana.devtools.bench.measure import stopwatch
from emhana.facilities.rules import EARTH_RADIUS_KM
from emhana.kernel.db import make_sessionmaker, unit_of_work
from emhana.reference.rules import KZ_LAT, KZ_LON, in_kazakhstan


def bare_total(engine: Engine) -> float:
    """The baseline: open attachments counted by entity in one bare GROUP BY; return their sum."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT entity_id, COUNT(*) FROM attachment WHERE end_date IS NULL GROUP BY entity_id")
        ).all()
    return float(sum(n for _, n in rows))


def computed_total(sessions: sessionmaker[Session], day: dt.date) -> float:
    """The counts by entity, sex and age band on a day, not stored (`capitation.compute_counts`); their sum."""
    with sessions() as s:
        return float(sum(capitation.compute_counts(session=s, as_of=day).values()))


def snapshot_total(sessions: sessionmaker[Session], day: dt.date) -> float:
    """The stored snapshot of a day (`capitation.take_snapshot`, committed); the persons it counts."""
    with unit_of_work(sessions) as s:
        return float(capitation.take_snapshot(session=s, actor=None, as_of=day, today=day).total)


def capitation_figures(engine: Engine, as_of: dt.date) -> dict[str, float]:
    """Time a bare GROUP BY entity over the open attachments, then the stored snapshot of the same day."""
    sessions = make_sessionmaker(engine)
    with stopwatch() as bare:
        bare_n = bare_total(engine)
    with stopwatch() as snapshot:
        snapshot_n = snapshot_total(sessions, as_of)
    return {"bare_s": bare[0], "snapshot_s": snapshot[0], "bare_total": bare_n, "snapshot_total": snapshot_n}


# The same question as near_free, answered by brute force and from the rows themselves: the great-circle distance
# of every active site whose entity is included on the day, the k nearest, then each one's active districts with
# their free places counted from the open attachment rows (no kept load, no index on position, no cache).
BRUTE = """
WITH top AS (
  SELECT s.id, 2 * %(r)s * asin(least(1, sqrt(power(sin(radians(s.lat - %(lat)s) / 2), 2)
         + cos(radians(%(lat)s)) * cos(radians(s.lat)) * power(sin(radians(s.lon - %(lon)s) / 2), 2)))) AS km
  FROM site s WHERE s.active AND EXISTS (SELECT 1 FROM inclusion i WHERE i.entity_id = s.entity_id
       AND i.status = 'included' AND i.effective_from <= %(day)s
       AND (i.effective_to IS NULL OR i.effective_to > %(day)s))
  ORDER BY km, s.id LIMIT %(k)s)
SELECT top.id, top.km, d.id, d.capacity - (SELECT COUNT(*) FROM attachment t
       WHERE t.district_id = d.id AND t.end_date IS NULL)
FROM top LEFT JOIN district d ON d.site_id = top.id AND d.active ORDER BY top.km, top.id, d.number, d.id
"""


def query_points(engine: Engine, count: int, seed: int) -> list[tuple[float, float]]:
    """Points 0-30 km from random sites (90 %) or uniform over Kazakhstan's extent (10 %)."""
    with engine.connect() as conn:
        sites = conn.execute(text("SELECT lat, lon FROM site WHERE active ORDER BY id")).all()
    rng = random.Random(seed)
    points: list[tuple[float, float]] = []
    while len(points) < count:
        if rng.random() < 0.9:
            lat, lon = rng.choice(sites)
            dist, bearing = rng.uniform(0, 30), rng.uniform(0, 2 * math.pi)
            p = (
                lat + math.degrees(dist * math.cos(bearing) / EARTH_RADIUS_KM),
                lon + math.degrees(dist * math.sin(bearing) / (EARTH_RADIUS_KM * math.cos(math.radians(lat)))),
            )
        else:
            p = (rng.uniform(*KZ_LAT), rng.uniform(*KZ_LON))
        if in_kazakhstan(*p):
            points.append(p)
    return points


def near_figures(
    engine: Engine, url: str, queries: int, day: dt.date, seed: int, k: int = 10
) -> dict[str, list[float] | float]:
    """Time near_free (a new session per query, as one API request) and the brute-force SQL scan per point,
    interleaved; ``agreement`` is the share of queries where both give the same sites and the same free places of
    every district, ``sites_agreement`` the same sites only."""
    points = query_points(engine, queries, seed)
    sessions = make_sessionmaker(engine)
    service: list[float] = []
    brute: list[float] = []
    agree = same_sites = 0
    with psycopg.connect(raw_url(url), prepare_threshold=1, autocommit=True) as conn:
        for i, (lat, lon) in enumerate([points[0], *points]):
            t0 = time.perf_counter()
            with sessions() as s:
                found = near_free(session=s, lat=lat, lon=lon, day=day, limit=k, profile=None)
                got = {n.site.id for n, _ in found}
                got_free = {d.id: d.capacity - n for _, rows in found for d, n in rows}
            t1 = time.perf_counter()
            rows = conn.execute(BRUTE, {"r": EARTH_RADIUS_KM, "lat": lat, "lon": lon, "k": k, "day": day}).fetchall()
            t2 = time.perf_counter()
            if i == 0:
                continue  # warm-up: connection, statement caches
            service.append(t1 - t0)
            brute.append(t2 - t1)
            sites_equal = got == {r[0] for r in rows}
            same_sites += sites_equal
            agree += sites_equal and got_free == {r[2]: r[3] for r in rows if r[2] is not None}
    return {
        "service": service,
        "brute": brute,
        "agreement": agree / len(points),
        "sites_agreement": same_sites / len(points),
    }
