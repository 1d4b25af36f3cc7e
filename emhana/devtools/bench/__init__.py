"""The benchmark harness, one for every benchmark: each figure beside a baseline measured in the same run.

`emhana bench --scale smoke|1m|5m|full` is the national run (issue 7: `runner.run` builds the dataset and measures
every part, then the load profiles of `profiles`, open loop at national volume through the real server; issue 18);
`emhana bench NAME ...` runs one focused benchmark (`focused/`). Both measure and report through
`measure` and share the parts: the campaign's transactions and client processes (`campaign`, `raw_full`,
`clients`), the read paths (`reads`), the seals (`seals`), signed FHIR bundles (`bundles`), medical books in bulk
(`medbooks`), the HTTP load generator (`http`: a non-2xx answer never counts toward a rate). This package root
stays light so the CLI starts fast.
"""

from emhana.devtools.bench.scales import SCALES, Scale

__all__ = ["SCALES", "Scale"]
