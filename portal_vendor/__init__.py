"""Vendor portal pages."""
