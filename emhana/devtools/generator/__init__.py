"""Deterministic national synthetic data: facility layer from real KATO/GeoNames anchors, and persons."""

from emhana.devtools.generator.core import GenerateStats, Progress, generate
from emhana.devtools.generator.params import GeneratorParams
from emhana.devtools.generator.progress import run_with_progress

__all__ = ["GenerateStats", "GeneratorParams", "Progress", "generate", "run_with_progress"]
