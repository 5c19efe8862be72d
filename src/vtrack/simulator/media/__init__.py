"""Video for simulated cameras: a generated test pattern or a looped file, encoded once per camera."""
