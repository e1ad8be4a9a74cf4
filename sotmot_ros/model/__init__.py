"""The SOTMOT network: a backbone body giving stride-4 features, and CenterNet + SOT heads."""

from .config import ModelConfig
from .network import SOTMOTNet, build_model

__all__ = ["ModelConfig", "SOTMOTNet", "build_model"]
