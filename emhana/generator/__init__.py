"""Deterministic national synthetic data: facility layer from real KATO/GeoNames anchors, and persons."""

from emhana.generator.core import GenerateStats, Progress, generate
from emhana.generator.params import GeneratorParams
from emhana.generator.progress import run_with_progress

__all__ = ["GenerateStats", "GeneratorParams", "Progress", "generate", "run_with_progress"]
