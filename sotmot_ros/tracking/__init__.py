"""Online multi-object tracking: Kalman motion model, SOT/IoU association, track lifecycle."""

from .config import TrackerConfig, config_for_model
from .tracker import Tracker, tracks_to_publish

__all__ = ["Tracker", "TrackerConfig", "config_for_model", "tracks_to_publish"]
