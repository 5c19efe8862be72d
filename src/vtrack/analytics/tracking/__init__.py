"""Multi-person tracking: ByteTrack over per-frame detections, plus MOTChallenge file I/O."""

from vtrack.analytics.tracking.bytetrack import ByteTracker, TrackerConfig
from vtrack.analytics.tracking.kalman import KalmanFilter
from vtrack.analytics.tracking.mot import MotWriter, read_mot_detections

__all__ = ["ByteTracker", "KalmanFilter", "MotWriter", "TrackerConfig", "read_mot_detections"]
