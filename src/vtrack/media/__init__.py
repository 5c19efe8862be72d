"""PyAV helpers for talking to cameras' streams: connection tests, snapshot frames, JPEG encoding.

PyAV (FFmpeg in the wheel) blocks and is not async; everything here that touches a network stream runs
in a worker thread and is bounded by an overall deadline, because a camera that stalls mid-stream must
cost a health check or an API request its timeout, never a hung worker.
"""
