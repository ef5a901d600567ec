"""The closed lists of trusted-address casework: acts, forms, relationships, reasons and the like.

Codes are stable identifiers exchanged by the API and stored in clear columns for statistics; labels
are translated (English message ids, Vietnamese on screens). Legal sources are in
``vietnam-domain.md`` §1; where the reference marks a rule as unverified, the comment says so.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from casework.service_types import SERVICE_TYPES

# --- acts of domestic violence (Law 13/2022/QH15 Art. 3(1)) -----------------------------------------

FORMS = {
    "physical": _l("Physical violence"),
    "mental": _l("Mental violence"),
    "sexual": _l("Sexual violence"),
    "economic": _l("Economic violence"),
}

# The letters of Art. 3(1); Vietnamese legal lists skip f and j, and "đ" follows "d".
ACT_CODES = ("a", "b", "c", "d", "đ", "e", "g", "h", "i", "k", "l", "m", "n", "o", "p", "q")

# Plain-language wording for a host on a phone; the legal wording is in vietnam-domain §1.2.
ACTS = {
    "a": _l("Beating, torturing, threatening or otherwise harming her health or life"),
    "b": _l("Insulting, scolding or otherwise hurting her honour and dignity"),
    "c": _l("Forcing her to watch violence against people or animals to put constant psychological pressure "
            "on her"),
    "d": _l("Neglect: not feeding or caring for a family member who is a child, a pregnant woman, a woman "
            "raising a child under 36 months, an old or disabled person or one who cannot care for "
            "themselves; not educating a family member who is a child"),
    "đ": _l("Discrimination because of her body, sex, gender or abilities"),
    "e": _l("Keeping her from relatives and friends, isolating her, constant psychological pressure"),
    "g": _l("Blocking family rights and duties between grandparents and grandchildren, parents and children, "
            "spouses, brothers and sisters"),
    "h": _l("Revealing or spreading her private life or secrets to shame her"),
    "i": _l("Forcing sex on a wife or husband against their will"),
    "k": _l("Forcing her to perform, watch, hear or read pornography or violent content"),
    "l": _l("Forcing child marriage, marriage or divorce, or blocking a lawful marriage or divorce"),
    "m": _l("Forcing pregnancy, abortion or the choice of the baby's sex"),
    "n": _l("Taking or destroying family property or her own property"),
    "o": _l("Forcing overwork or payments beyond her means; controlling money and income to make her dependent"),
    "p": _l("Locking up or confining a family member"),
    "q": _l("Forcing her out of her lawful home"),
}

# The statistical forms of each act. vietnam-domain §1.2 marks this grouping as our suggestion [?]:
# the first form is where the act is shown on screen; m, p and q also count in their second form.
ACT_FORMS: dict[str, tuple[str, ...]] = {
    "a": ("physical",), "b": ("mental",), "c": ("mental",), "d": ("mental",), "đ": ("mental",),
    "e": ("mental",), "g": ("mental",), "h": ("mental",), "i": ("sexual",), "k": ("sexual",),
    "l": ("mental",), "m": ("sexual", "physical"), "n": ("economic",), "o": ("economic",),
    "p": ("physical", "mental"), "q": ("economic", "mental"),
}


def acts_by_form() -> list[tuple[str, object, list[tuple[str, object]]]]:
    """``[(form, form label, [(act, act label), ...]), ...]`` in the order the intake form shows them."""
    return [(form, label, [(a, ACTS[a]) for a in ACT_CODES if ACT_FORMS[a][0] == form])
            for form, label in FORMS.items()]


def forms_of(acts: list[str] | tuple[str, ...] | set[str]) -> set[str]:
    return {form for act in acts for form in ACT_FORMS.get(act, ())}


# --- relationship to the perpetrator (Law 13/2022 Art. 3(2), Decree 76/2023 Arts. 2–5) ---------------

RELATIONSHIPS = {
    "spouse": _l("Wife or husband"),
    "divorced": _l("Former wife or husband (divorced)"),
    "cohabiting": _l("Living together as wife and husband"),
    "parent_child": _l("Parent and child"),
    "step_parent_child": _l("Step-parent and stepchild"),
    "in_law": _l("Parent-in-law and daughter- or son-in-law"),
    "grandparent_grandchild": _l("Grandparent and grandchild"),
    "sibling": _l("Brothers and sisters"),
    "former_adoptive": _l("Former adoptive parent and child"),
    "former_partner_relative": _l("Parent, child or sibling of a former spouse or partner"),
    "other_family": _l("Other family member"),
}

_ALL = frozenset(ACT_CODES)

# Parts of a letter that Decree 76/2023 names on their own. A host may tick the part she is told about;
# the statistics need it only where a relationship counts a part of the letter and not the whole.
ACT_PARTS: dict[str, dict[str, object]] = {
    "g": {
        "grandparent_grandchild": _l("between grandparents and grandchildren"),
        "parent_child": _l("between parents and children"),
        "spouses": _l("between wife and husband"),
        "siblings": _l("between brothers and sisters"),
    },
    "l": {
        "force_child_marriage": _l("forcing child marriage"),
        "force_marriage": _l("forcing marriage"),
        "force_divorce": _l("forcing divorce"),
        "obstruct_marriage": _l("blocking a lawful marriage"),
        "obstruct_divorce": _l("blocking a lawful divorce"),
    },
}

# Which acts count as domestic violence for each relationship: a letter maps to ``None`` when the whole
# letter counts, or to the parts of it that count.
_WHOLE = None
# Decree 76/2023 Art. 2 [V]: between divorced people only a, b, c, k, forcing her out of the lawful home (q),
# disclosing private life (h), preventing contact with relatives or isolating her (e), preventing family
# rights and duties (g) -- between grandparents and grandchildren, parents and children, brothers and
# sisters, not the spouse pair (they are no longer spouses) -- and, of letter l, only blocking a lawful
# marriage ("cản trở kết hôn").
_DIVORCED_RULE: dict[str, frozenset[str] | None] = {
    **{a: _WHOLE for a in "a b c e h k q".split()},
    "g": frozenset({"grandparent_grandchild", "parent_child", "siblings"}),
    "l": frozenset({"obstruct_marriage"}),
}
# Decree 76/2023 Art. 3 [V]: between people cohabiting as spouses every act except taking property (n).
_COHABITING_RULE: dict[str, frozenset[str] | None] = {a: _WHOLE for a in _ALL - {"n"}}
# Act i is worded for a wife or husband (Law 13/2022 Art. 3(1)(i)); among other family members it is not
# this act; and g's spouse pair needs spouses.
_FAMILY_RULE: dict[str, frozenset[str] | None] = {a: _WHOLE for a in _ALL - {"i"}}
_ALL_RULE: dict[str, frozenset[str] | None] = {a: _WHOLE for a in _ALL}

COUNTED_ACTS: dict[str, dict[str, frozenset[str] | None]] = {
    "spouse": _ALL_RULE,
    "divorced": _DIVORCED_RULE,
    "cohabiting": _COHABITING_RULE,
    "parent_child": _FAMILY_RULE,
    "step_parent_child": _FAMILY_RULE,
    "in_law": _FAMILY_RULE,
    "grandparent_grandchild": _FAMILY_RULE,
    "sibling": _FAMILY_RULE,
    # Decree 76 Arts. 4–5 cover these two; the reference read them only partly [P], so we apply the
    # divorced list until the project officer confirms the text (vietnam-domain §7).
    "former_adoptive": _DIVORCED_RULE,
    "former_partner_relative": _DIVORCED_RULE,
    "other_family": _FAMILY_RULE,
}
# The letters that count, whole or in part, per relationship (kept for callers of the old name).
ALLOWED_ACTS: dict[str, frozenset[str]] = {rel: frozenset(rule) for rel, rule in COUNTED_ACTS.items()}


def act_counts(relationship: str | None, act: str, parts: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether ``act`` (with the parts ticked for it) counts as domestic violence between people of this
    relationship (Law 13/2022 Art. 3(2); Decree 76/2023 Arts. 2–5). A letter of which only some parts count
    counts when one of its ticked parts does; with no part ticked it does not."""
    rule = COUNTED_ACTS.get(relationship or "")
    if rule is None or act not in rule:
        return False
    allowed = rule[act]
    return allowed is None or bool(set(parts) & allowed)


def acts_not_counted(relationship: str | None, acts, parts: dict[str, set[str]] | None = None) -> list[str]:
    """The acts recorded that Decree 76/2023 does not count for this relationship, in letter order.
    Unknown relationships count nothing (the form asks for one)."""
    parts = parts or {}
    if relationship not in COUNTED_ACTS:
        return []
    wanted = set(acts)
    return [a for a in ACT_CODES if a in wanted and not act_counts(relationship, a, parts.get(a, set()))]


def counted_parts_note(relationship: str | None, act: str) -> list[str]:
    """The parts of ``act`` that count for this relationship (empty when the whole letter counts or none)."""
    allowed = COUNTED_ACTS.get(relationship or "", {}).get(act)
    return sorted(allowed) if allowed else []


# --- the person -----------------------------------------------------------------------------------

SEXES = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other")}
PERPETRATOR_SEXES = {"male": _l("Male"), "female": _l("Female"), "unknown": _l("Not known")}

AGE_BANDS = {"under_16": _l("Under 16"), "16_17": _l("16–17"), "18_29": _l("18–29"), "30_44": _l("30–44"),
             "45_59": _l("45–59"), "60_plus": _l("60 and over"), "unknown": _l("Not known")}


def age_band_for(age: int) -> str:
    if age < 16:
        return "under_16"
    if age < 18:
        return "16_17"
    if age < 30:
        return "18_29"
    if age < 45:
        return "30_44"
    if age < 60:
        return "45_59"
    return "60_plus"


ARRIVALS = {
    "came_alone": _l("She came by herself"),
    "brought_by_family": _l("Brought by a relative or neighbour"),
    "brought_by_village": _l("Brought by the village head or the Women's Union branch"),
    "brought_by_police": _l("Brought by the police"),
    "phoned_first": _l("She phoned first"),
    "found_by_host": _l("The host found her"),
    "other": _l("Other"),
}

CONSENT_GIVERS = {"self": _l("She herself"), "guardian": _l("Her guardian or legal representative")}

# --- consent ----------------------------------------------------------------------------------------

PURPOSES = {
    "record": _l("Keep this record"),
    "statistics": _l("Count her, without her name, in statistics"),
    "share": _l("Share information with a service"),
}

# Kinds of service she may agree to share information with (DESIGN §2 Referral; vietnam-domain §1.5): one
# list for consent here and for the organisation directory and referrals, kept in the core.
SERVICES = SERVICE_TYPES

# The parts of a case that consent to share can name. A bare service code in the API, or a tick on the
# intake form, shares the standard referral set; the consent page lets her choose field by field.
SHAREABLE_FIELDS = {
    "full_name": _l("Name"),
    "other_names": _l("Other names"),
    "birth_year": _l("Year of birth"),
    "birth_date": _l("Date of birth"),
    "sex": _l("Sex"),
    "age_band": _l("Age group"),
    "ethnicity_code": _l("Ethnic group"),
    "phone": _l("Phone"),
    "id_number": _l("ID number"),
    "home_address": _l("Home address"),
    "children": _l("Children with her"),
    "acts": _l("What happened (acts)"),
    "relationship": _l("Relationship to the perpetrator"),
    "injuries": _l("Injuries and first aid"),
    "risk": _l("Risk assessment"),
    "safety_plan": _l("Safety plan"),
    "narrative": _l("Notes"),
}
DEFAULT_SHARE_FIELDS = ("full_name", "birth_year", "sex", "age_band", "phone", "children", "acts",
                        "relationship", "injuries", "risk")

# --- risk, shelter, contact bans, follow-up, closure ----------------------------------------------

RISK_FACTORS = {
    "threat_to_kill": _l("The perpetrator threatened to kill her"),
    "weapon": _l("A weapon was used or threatened (knife, stick, gun, poison)"),
    "escalation": _l("The violence is getting worse or more frequent"),
    "children_at_risk": _l("Children are in danger too"),
    "perpetrator_nearby": _l("The perpetrator is nearby or looking for her"),
}
RISK_LEVELS = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}
RISK_RANK = {"high": 2, "medium": 1, "low": 0}


def risk_level(factors: set[str], judged_high: bool = False) -> str:
    """High with a threat to kill, a weapon, three factors or the host's judgement; medium with any factor."""
    if judged_high or {"threat_to_kill", "weapon"} & factors or len(factors) >= 3:
        return "high"
    return "medium" if factors else "low"


ESSENTIALS = {
    "food": _l("Food"),
    "water": _l("Drinking water"),
    "clothes": _l("Clothes"),
    "personal_items": _l("Personal items"),
    "first_aid": _l("First aid"),
    "money": _l("Money"),
}

# Law 13/2022 Art. 25(1)(a): the commune chair decides a contact ban at the request of the person subjected
# to violence, her guardian or legal representative, or a competent agency or organisation -- the last
# with her consent. A trusted-address host is not a formal requester: she helps the woman ask, or asks as
# part of a competent body.
CONTACT_BAN_REQUESTERS = {
    "victim": _l("She herself"),
    "guardian": _l("Her guardian"),
    "legal_representative": _l("Her legal representative"),
    "competent_body": _l("A competent agency or organisation (with her consent)"),
}
REQUESTERS_NEEDING_CONSENT = frozenset({"competent_body"})
# Law 13/2022 Art. 25(1)(b): the chair may also decide on his or her own initiative when the violence
# threatens her life (unless she refuses, vietnam-domain §1.3 [P]).
CONTACT_BAN_ORIGINS = {
    "request": _l("At a request (Art. 25(1)(a))"),
    "chair_initiative": _l("The commune chair's own decision: her life is threatened (Art. 25(1)(b))"),
}
# A commune chair's decision (Art. 25) or a court's (Art. 26, in a pending civil case).
CONTACT_BAN_KINDS = {
    "commune": _l("Decision of the commune chair (Art. 25)"),
    "court": _l("Decision of a court (Art. 26)"),
}
CONTACT_BAN_DECISIONS = {"granted": _l("Granted"), "refused": _l("Refused")}
CONTACT_BAN_DECISION_HOURS = 12  # Art. 25(2): decided within 12 hours of the request
CONTACT_BAN_MAX_DAYS = 3  # Art. 25(3): at most 3 days per decision of the commune chair
COURT_BAN_MAX_MONTHS = 4  # Art. 26: a court's ban lasts at most 4 months
# Old requester codes (before issue 15) and what they became in the migration.
LEGACY_REQUESTERS = {"host": "competent_body", "womens_union": "competent_body", "police": "competent_body",
                     "other_body": "competent_body"}

FOLLOW_UP_KINDS = {"visit": _l("Home visit"), "call": _l("Phone call"), "meeting": _l("Meeting elsewhere")}
SITUATIONS = {"safe": _l("Safe and stable"), "improving": _l("Improving"), "at_risk": _l("Still at risk"),
              "unreachable": _l("Could not be reached")}

# Days from an intake or a follow-up to the next follow-up, by risk level (issue 13). Project rule, not a
# law's: the host may choose another date on the follow-up form. Why these numbers:
# - high (a threat to kill, a weapon, three risk factors or the host's judgement): the most dangerous time
#   is the days right after she leaves or reports the abuser, so someone sees or calls her within 3 days;
# - medium (any other risk factor): once a week, often enough to notice the violence getting worse;
# - low: once a month, the usual rhythm of a commune Women's Union's home visits.
FOLLOW_UP_DAYS = {"high": 3, "medium": 7, "low": 30}
# The queue shows a follow-up from the day before its date (time to plan the visit), then as late. It must
# stay shorter than the shortest interval, or a follow-up just recorded would put the case back in the queue.
FOLLOW_UP_NOTICE_DAYS = 1
# The latest next follow-up date a host may choose: a year after the follow-up.
FOLLOW_UP_MAX_DAYS = 366


def follow_up_days(risk: str | None) -> int:
    return FOLLOW_UP_DAYS.get(risk or "low", FOLLOW_UP_DAYS["low"])

CLOSURE_REASONS = {
    "safe_reintegrated": _l("Safe and back in the community"),
    "moved_away": _l("Moved away"),
    "referred_taken_over": _l("Referred on and taken over by a service"),
    "declined_support": _l("She declined further support"),
    "lost_contact": _l("Contact lost"),
    "other": _l("Other reason"),
}

STATUSES = {
    "open": _l("Open"),
    "closure_requested": _l("Closure requested"),
    "closed": _l("Closed"),
}
OPEN_STATUSES = ("open", "closure_requested")

ADDRESS_KINDS = {
    "household": _l("Household"),
    "organisation": _l("Organisation"),
    "health_station": _l("Health station"),
    "police_post": _l("Police post"),
    "safe_house": _l("Safe house"),
}
SUPPORT_KINDS = {
    "money": _l("Money"),
    "equipment": _l("Equipment (phone, bed, lock…)"),
    "supplies": _l("Supplies (food, clothes, first-aid kit)"),
    "other": _l("Other"),
}

# Hours after intake without a commune notice before a case is flagged. A project rule, not the law: Law
# 13/2022 Art. 36 says a trusted address notifies the commune People's Committee when it receives someone and
# sets no hours. Each province may set its own (``ProvinceSetting.notice_hours``); this is the default.
NOTICE_HOURS = 24
MAX_NOTICE_HOURS = 168
DEFAULT_MAX_SHELTER_DAYS = 7  # vietnam-domain §7 q.1: not verified; each province sets its own
MAX_AGE = 120
