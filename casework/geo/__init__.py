"""Provinces, communes and ethnic groups (DESIGN §2 Geography)."""
