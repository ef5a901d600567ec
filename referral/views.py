"""Screens of the referral domain."""
