"""The livelihood domain's codes and their words: the stable English codes (``livelihood.models``,
stored in clear columns and exchanged by the API and the workbook) with the label each screen shows
(English message ids, Vietnamese on screens)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SURVIVOR_STATUS_LABELS = {
    # Translators: Law 53/2024 "người đang trong quá trình xác định là nạn nhân": "đang xác minh"
    "being_identified": _l("Being identified as a victim"),
    # Translators: Law 53/2024 "nạn nhân": "đã xác định là nạn nhân"
    "identified": _l("Identified victim"),
    # Translators: the competent body decided she is not a victim: "không phải nạn nhân"
    "not_victim": _l("Not a victim"),
}
SEX_LABELS = {"female": _l("Female"), "male": _l("Male")}
CONSENT_GIVER_LABELS = {"self": _l("Herself"), "guardian": _l("Her guardian or legal representative")}
# Law 53/2024 Art. 37(1) a–k.
ENTITLEMENT_LABELS = {
    "a": _l("Essential needs"),
    "b": _l("Medical care"),
    "c": _l("Interpretation"),
    "d": _l("Legal information"),
    "đ": _l("Legal aid"),
    "e": _l("Travel costs"),
    "g": _l("Psychological support"),
    "h": _l("General education"),
    "i": _l("Vocational training, job counselling and placement"),
    "k": _l("Initial hardship allowance and access to loans"),
}
KIND_LABELS = {
    "livestock": _l("Livestock"),
    "crops": _l("Crops"),
    "handicraft": _l("Handicraft"),
    "small_trade": _l("Small trade or services"),
    "vocational_training": _l("Vocational training"),
    "job_placement": _l("Job placement"),
    "other": _l("Other"),
}
STATE_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "under_appraisal": _l("Under appraisal"),
    "returned": _l("Returned for revision"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "disbursing": _l("Disbursing"),
    "completed": _l("Completed"),
    "closed": _l("Closed"),
}
ACTION_LABELS = {
    "submit": _l("Submitted"),
    "resubmit": _l("Submitted again after revision"),
    "start_appraisal": _l("Taken up for appraisal"),
    "approve_first": _l("First approval (a second officer must confirm)"),
    "approve": _l("Approved"),
    "return": _l("Returned for revision"),
    "reject": _l("Rejected"),
    "disburse": _l("First money paid"),
    "complete": _l("Completed"),
    "close": _l("Closed"),
}
FORM_LABELS = {"cash": _l("Cash"), "in_kind": _l("In kind")}
PROGRESS_LABELS = {"on_track": _l("On track"), "delayed": _l("Delayed"), "at_risk": _l("At risk"),
                   "stopped": _l("Stopped")}
EVENT_LABELS = {"vocational_training": _l("Vocational training"), "job_counselling": _l("Job counselling"),
                "market_linkage": _l("Market linkage")}
OUTCOME_LABELS = {"self_reliant": _l("She stands on her own"), "improving": _l("Improving, still needs support"),
                  "not_achieved": _l("Not achieved")}
AGE_BAND_LABELS = {"under_18": _l("Under 18"), "18_24": "18–24", "25_34": "25–34", "35_44": "35–44",
                   "45_59": "45–59", "60_plus": _l("60 and over")}
CRITERION_LABELS = {"feasibility": _l("Feasibility"), "market": _l("Market"), "skills": _l("Her skills"),
                    "risks": _l("Risks"), "cost": _l("Cost")}
