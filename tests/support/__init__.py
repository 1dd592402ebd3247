"""Test support: real servers (PostgreSQL, Wharf itself) and helpers to build OCI content."""
