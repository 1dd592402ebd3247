"""Licensing domain: pure rules and decisions (stdlib + cryptography only)."""
