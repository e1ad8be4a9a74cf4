"""Online multi-object tracking: Kalman motion model, SOT/IoU association, track lifecycle."""

from .config import TrackerConfig
from .tracker import Tracker

__all__ = ["Tracker", "TrackerConfig"]
