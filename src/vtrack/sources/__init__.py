"""Connectors to where recordings also live: folders, S3-compatible stores, cloud drives, camera clouds."""
