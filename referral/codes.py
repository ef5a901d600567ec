"""The referral domain's codes and their words: the stable English codes (``referral.models``: kinds of
organisation, urgencies, states, results) with the label each screen shows (English message ids,
Vietnamese on screens)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "commune_police": _l("Commune police"),
    "health_station": _l("Health station"),
    "commune_committee": _l("Commune People's Committee"),
    "legal_aid": _l("Legal-aid centre"),
    "social_assistance": _l("Social-assistance centre"),
    "peace_house": _l("Peace House or other shelter"),
    "safe_house": _l("Safe house"),
    "hotline_111": _l("Child-protection hotline 111"),
    "other": _l("Other"),
}
URGENCY_LABELS = {
    "normal": _l("Normal"),
    # Translators: a referral the organisation must acknowledge within hours (2 h by default).
    "urgent": _l("Urgent"),
}
STATE_LABELS = {"sent": _l("Waiting for an answer"), "accepted": _l("Accepted"), "declined": _l("Declined"),
                "completed": _l("Service given"), "cancelled": _l("Cancelled")}
RESULT_LABELS = {
    "provided": _l("The service was given"),
    "partly_provided": _l("The service was partly given"),
    "not_provided": _l("The service could not be given"),
}
