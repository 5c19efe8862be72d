"""Tests of vtrack's own RTSP client."""
