"""Kinds of service a woman can be referred to; consent to share is given per service type.

One list of codes and labels: the cases domain records consent per service with it
(``casework.cases.codes.SERVICES``), the organisation directory and referrals read it from here.
The acknowledgement deadlines per service are the referral domain's (``referral.services.deadlines``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# Kinds of service she may agree to share information with and be referred to (DESIGN §2 Referral;
# vietnam-domain §1.5).
SERVICE_TYPES = {
    "police": _l("Police (commune police)"),
    "health": _l("Health station or hospital"),
    "legal_aid": _l("Legal aid"),
    "social_assistance": _l("Social-assistance centre"),
    "shelter": _l("Longer-stay shelter (Peace House)"),
    # "Nhà an toàn": the safe houses of the 2025 direction (at least five per province), a destination of
    # their own beside the Peace House.
    "safe_house": _l("Safe house"),
    "child_protection": _l("Child protection (111)"),
    "commune_committee": _l("Commune People's Committee"),
    "psychological": _l("Psychological counselling"),
    "other": _l("Other service"),
}
