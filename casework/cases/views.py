"""Screens of trusted-address casework."""
