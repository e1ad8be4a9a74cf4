"""Training/evaluation data: MOTChallenge and video readers, pair sampling, augmentation, targets."""

from .mot import MOTSequence, read_mot_file, write_mot_results

__all__ = ["MOTSequence", "read_mot_file", "write_mot_results"]
