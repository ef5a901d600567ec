"""Kinds of service a woman can be referred to; consent to share is given per service type.

Shared by casework (consent) and the referral domain, so it lives in the core.
Acknowledgement deadlines are the defaults of issue 5 (24 hours, 2 hours when urgent); provinces
may set their own.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SERVICE_TYPES = {
    "police": _l("Police protection"),
    "health": _l("Health care"),
    "legal_aid": _l("Legal aid"),
    "social_assistance": _l("Social assistance"),
    "shelter": _l("Shelter"),
    "psychological": _l("Psychological counselling"),
    "child_protection": _l("Child protection"),
    "commune_committee": _l("Commune People's Committee"),
    "other": _l("Other support"),
}

DEFAULT_ACK_HOURS = 24
URGENT_ACK_HOURS = 2
