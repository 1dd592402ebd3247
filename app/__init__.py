"""Wharf: the composition root (settings, app factory, identity, policy, CLI)."""
