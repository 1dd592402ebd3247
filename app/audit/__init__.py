"""Download audit: registry events go to a local append-only spool, a background writer moves them to SQL."""
