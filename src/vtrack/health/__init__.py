"""Camera health: periodic checks, the online/degraded/offline state machine, history and retention."""
