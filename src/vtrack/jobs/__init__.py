"""Background work: job functions and the runners that execute them (embedded now, Celery in step 8)."""
