"""Where analysis results go: the database (buffered batches) and the live event bus."""
