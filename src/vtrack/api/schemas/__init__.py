"""Response (and API-only request) models; domain input models live with their services."""
