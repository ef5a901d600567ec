"""Screens of the livelihood domain."""
