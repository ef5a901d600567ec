"""Anonymised statistics with disclosure control (DESIGN §3.6, disclosure-control §2–§3).

The engine is pure and independent of the database: ``catalogue`` (tables and their rules),
``counting`` (records to cells), ``model`` and ``lp_audit`` (the attacker's constraint system and
bounds), ``suppression`` and ``reconstruction`` (what is hidden and why it is enough), ``release``
(a frozen, audited release) and ``formats`` (CSV, JSON, XLSX, DHIS2, ADX, SDMX-CSV).
"""
