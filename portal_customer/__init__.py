"""Customer portal pages."""
