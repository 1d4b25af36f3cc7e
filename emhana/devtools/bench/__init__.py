"""National-scale benchmarks (issue 7): `emhana bench --scale smoke|1m|5m|full`, each figure beside a baseline.

The run itself is `emhana.devtools.bench.runner.run`; this package root stays light so the CLI starts fast.
"""

from emhana.devtools.bench.scales import SCALES, Scale

__all__ = ["SCALES", "Scale"]
