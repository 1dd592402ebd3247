"""Download events on their way to SQL: a local append-only spool per process, and the writer that
moves it into `download_events`."""
