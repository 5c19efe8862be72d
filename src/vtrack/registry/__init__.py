"""Camera registry services: validation, credential handling, import and export over the repositories."""
