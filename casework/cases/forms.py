"""Forms of trusted-address casework: plain HTML, no JavaScript, usable on a 360-px phone.

Dates, times and numbers are text inputs with the browser's native pickers (``type=date`` and
``datetime-local``) and are parsed here, so that a wrong value gets our own Vietnamese message. The
rules themselves live in the services; a form only turns text into values.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from casework.cases import codes
from casework.forms import SelectField
from casework.geo import data as geo
from casework.text import VN_TZ


def choices(pairs) -> list[SelectChoice]:
    """Options from ``(value, label)`` pairs or a ``{value: label}`` mapping (WTForms 3.3 wants SelectChoice)."""
    items = pairs.items() if hasattr(pairs, "items") else pairs
    return [SelectChoice(value, label) for value, label in items]


def _pairs(mapping) -> list[SelectChoice]:
    return choices(mapping)


def local_input(value: datetime | None) -> str:
    return value.astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""


def ethnic_choices() -> list[SelectChoice]:
    return choices([("", str(_l("Not given")))] + [(g.code, g.name) for g in geo.ethnic_groups()])


def commune_choices(province_code: str) -> list[SelectChoice]:
    return choices([("", str(_l("Not given")))] + [(c.code, c.name) for c in geo.communes(province_code)])


def legacy_commune_choices(province_code: str) -> list[SelectChoice]:
    """The pre-2025 communes of the provinces merged into a 2025 province, grouped by district (issue 15)."""
    from casework.geo import legacy

    out = [SelectChoice("", str(_l("Not given")))]
    for old in legacy.sources_of_2025_province(province_code):
        province_name = legacy.province(old).name  # type: ignore[union-attr]
        for d in legacy.districts(old):
            group = f"{d.name}, {province_name}"
            out += [SelectChoice(c.code, c.name, optgroup=group) for c in legacy.communes(d.code)]
    return out


class IntakeForm(FlaskForm):
    """The intake: what a host records when a woman arrives, in the order it happens."""

    version = HiddenField()
    address_id = SelectField(_l("Trusted address"), choices=(), validate_choice=False)
    intake_at = StringField(_l("When did she arrive?"))
    arrival = SelectField(_l("How did she arrive?"), choices=_pairs(codes.ARRIVALS), validate_choice=False)

    full_name = StringField(_l("Her name"), validators=[Length(max=200)])
    other_names = StringField(_l("Other names she is known by"), validators=[Optional(), Length(max=200)])
    sex = SelectField(_l("Sex"), choices=_pairs(codes.SEXES), default="female", validate_choice=False)
    birth_year = StringField(_l("Year of birth"))
    birth_date = StringField(_l("Date of birth, if she knows it"))
    age_band = SelectField(_l("Age group, if the year is not known"), choices=_pairs(codes.AGE_BANDS),
                           default="unknown", validate_choice=False)
    ethnicity_code = SelectField(_l("Ethnic group"), choices=(), validate_choice=False)
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=32)])
    id_number = StringField(_l("ID card number"), validators=[Optional(), Length(max=32)])
    home_commune_code = SelectField(_l("Commune where she lives"), choices=(), validate_choice=False)
    # Her home can be anywhere in the country: a commune of another province by its 5-digit code.
    home_commune_other = StringField(_l("Or, in another province: the commune's code (5 digits)"),
                                     validators=[Optional(), Length(max=5)])
    home_address = StringField(_l("Village, house number"), validators=[Optional(), Length(max=300)])
    # Issue 15: before 1 July 2025, the units of that time (province, district, commune).
    legacy_commune_code = SelectField(_l("Commune where it happened, as it was before 1 July 2025"), choices=(),
                                      validate_choice=False)
    legacy_home_commune_code = StringField(_l("Her home commune before 1 July 2025: its code (5 digits)"),
                                           validators=[Optional(), Length(max=5)])

    children_count = StringField(_l("Children with her"), default="0")
    children_ages = StringField(_l("Their ages"))

    acts = SelectMultipleField(_l("What happened to her?"), choices=choices([(a, a) for a in codes.ACT_CODES]),
                               validate_choice=False)
    act_parts = SelectMultipleField(_l("Which part"), choices=choices(
        [(f"{a}:{p}", label) for a, parts in codes.ACT_PARTS.items() for p, label in parts.items()]),
        validate_choice=False)
    acts_not_counted_confirmed = BooleanField(_l("Recorded, but not counted as domestic violence under Decree "
                                                 "76/2023"))
    relationship = SelectField(_l("Who used violence against her?"),
                               choices=choices([("", _l("Choose…")), *codes.RELATIONSHIPS.items()]),
                               validate_choice=False)
    perpetrator_sex = SelectField(_l("Sex of that person"), choices=_pairs(codes.PERPETRATOR_SEXES),
                                  default="male", validate_choice=False)
    perpetrator_age_band = SelectField(_l("Age group of that person"), choices=_pairs(codes.AGE_BANDS),
                                       default="unknown", validate_choice=False)

    injuries = TextAreaField(_l("Injuries"), validators=[Optional(), Length(max=2000)])
    first_aid_given = BooleanField(_l("First aid was given"))
    first_aid = TextAreaField(_l("What first aid"), validators=[Optional(), Length(max=2000)])

    risk_threat_to_kill = BooleanField(codes.RISK_FACTORS["threat_to_kill"])
    risk_weapon = BooleanField(codes.RISK_FACTORS["weapon"])
    risk_escalation = BooleanField(codes.RISK_FACTORS["escalation"])
    risk_children_at_risk = BooleanField(codes.RISK_FACTORS["children_at_risk"])
    risk_perpetrator_nearby = BooleanField(codes.RISK_FACTORS["perpetrator_nearby"])
    risk_judged_high = BooleanField(_l("I think she is in serious danger"))
    safety_plan = TextAreaField(_l("Safety plan"), validators=[Optional(), Length(max=4000)])

    commune_notified = BooleanField(_l("The commune People's Committee has been told"))
    commune_notified_at = StringField(_l("When"))

    consent_record = BooleanField(_l("She agrees that this record is kept"))
    consent_statistics = BooleanField(_l("She agrees to be counted, without her name, in statistics"))
    consent_share = SelectMultipleField(_l("She agrees that her information is shared with"),
                                        choices=_pairs(codes.SERVICES), validate_choice=False)
    consent_given_by = SelectField(_l("Consent given by"), choices=_pairs(codes.CONSENT_GIVERS),
                                   validate_choice=False)

    narrative = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=8000)])


class EditForm(IntakeForm):
    pass


class ConsentForm(FlaskForm):
    purpose = SelectField(_l("She agrees to"), choices=_pairs(codes.PURPOSES), validate_choice=False)
    service = SelectField(_l("Kind of service"), choices=choices([("", _l("Choose…")), *codes.SERVICES.items()]),
                          validate_choice=False)
    fields = SelectMultipleField(_l("Information she agrees to share"), choices=_pairs(codes.SHAREABLE_FIELDS),
                                 validate_choice=False)
    given_by = SelectField(_l("Consent given by"), choices=_pairs(codes.CONSENT_GIVERS), validate_choice=False)


class ShelterForm(FlaskForm):
    start_on = StringField(_l("First day"))
    end_on = StringField(_l("Last day (leave empty while she stays)"))
    essentials = SelectMultipleField(_l("Essentials given"), choices=_pairs(codes.ESSENTIALS), validate_choice=False)
    money_vnd = StringField(_l("Money given (đồng)"))


class ContactBanForm(FlaskForm):
    requested_at = StringField(_l("When was it requested?"))
    origin = RadioField(_l("How does the ban come about?"), choices=_pairs(codes.CONTACT_BAN_ORIGINS),
                        default="request", validate_choice=False)
    requester = SelectField(_l("Who asked for it?"),
                            choices=choices([("", _l("Nobody: the chair's own decision")),
                                             *codes.CONTACT_BAN_REQUESTERS.items()]),
                            validate_choice=False)
    victim_consented = BooleanField(_l("She agrees to the request"))
    life_threatened = BooleanField(_l("Her life is threatened"))


class CourtBanForm(FlaskForm):
    court_name = StringField(_l("Court that issued the decision"), validators=[Optional(), Length(max=200)])
    decision_ref = StringField(_l("Number of the decision"), validators=[Optional(), Length(max=64)])
    decided_at = StringField(_l("When did the court decide?"))
    valid_from = StringField(_l("Valid from"))
    valid_until = StringField(_l("Valid until (at most 4 months)"))
    requester = SelectField(_l("Who asked for it?"),
                            choices=choices([("", _l("Not known")), *codes.CONTACT_BAN_REQUESTERS.items()]),
                            validate_choice=False)


class RevokeBanForm(FlaskForm):
    date = StringField(_l("Date of the revocation"))
    reason = TextAreaField(_l("Why was the ban revoked?"), validators=[Optional(), Length(max=1000)])


class ContactBanDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision of the commune chair"), choices=_pairs(codes.CONTACT_BAN_DECISIONS),
                          validate_choice=False)
    decided_at = StringField(_l("When was it decided?"))
    decision_ref = StringField(_l("Number of the decision"), validators=[Optional(), Length(max=64)])
    valid_from = StringField(_l("Valid from"))
    valid_until = StringField(_l("Valid until (at most 3 days)"))


class FollowUpForm(FlaskForm):
    on = StringField(_l("Date"))
    kind = SelectField(_l("Kind"), choices=_pairs(codes.FOLLOW_UP_KINDS), validate_choice=False)
    situation = SelectField(_l("How is she?"), choices=_pairs(codes.SITUATIONS), validate_choice=False)
    violence_recurred = RadioField(_l("Has the violence happened again?"),
                                   choices=choices([("no", _l("No")), ("yes", _l("Yes"))]), validate_choice=False)
    note = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    next_on = StringField(_l("Next follow-up by"))


class ClosureForm(FlaskForm):
    reason = SelectField(_l("Why can the case be closed?"),
                         choices=choices([("", _l("Choose…")), *codes.CLOSURE_REASONS.items()]), validate_choice=False)
    note = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class ClosureDecisionForm(FlaskForm):
    decision = RadioField(_l("Decision"), choices=choices([("approve", _l("Approve: close the case")),
                                                           ("return", _l("Return: the case stays open"))]),
                          validate_choice=False)
    note = TextAreaField(_l("Notes (required when returning)"), validators=[Optional(), Length(max=2000)])
    confirm_open_items = BooleanField(_l("I have checked the open items above and the case can close with them"))
    confirm_reason = TextAreaField(
        _l("Why can the case close now? (required for a high risk or a pending contact ban)"),
        validators=[Optional(), Length(max=2000)])


class ReopenForm(FlaskForm):
    reason = TextAreaField(_l("Why is the case reopened?"), validators=[Optional(), Length(max=2000)])


class NoticeForm(FlaskForm):
    commune_notified_at = StringField(_l("When was the commune People's Committee told?"))


class SearchForm(FlaskForm):
    q = StringField(_l("Name or phone number"), validators=[Optional(), Length(max=100)])


class AddressForm(FlaskForm):
    name = StringField(_l("Name of the trusted address"), validators=[Length(max=200)])
    kind = SelectField(_l("Kind"), choices=_pairs(codes.ADDRESS_KINDS), validate_choice=False)
    # Issue 13: the admin picks the commune by name; a search step narrows the list without JavaScript.
    commune_q = StringField(_l("Find the commune by name"), validators=[Optional(), Length(max=80)])
    commune_code = SelectField(_l("Commune"), choices=[], validate_choice=False)
    declared_on = StringField(_l("Declared to the commune People's Committee on"))
    published_on = StringField(_l("Published on"))
    active = BooleanField(_l("Active: can receive people now"), default=True)


class TrainingForm(FlaskForm):
    """Drawn only: ``schemas.AddressTrainingIn`` reads what is sent."""

    held_on = StringField(_l("Date"))
    topic = StringField(_l("Topic"), render_kw={"maxlength": 200})
    organiser = StringField(_l("Organised by"), render_kw={"maxlength": 200})


class SupportForm(FlaskForm):
    """Drawn only: ``schemas.AddressSupportIn`` reads what is sent."""

    received_on = StringField(_l("Date"))
    kind = SelectField(_l("Kind"), choices=_pairs(codes.SUPPORT_KINDS), validate_choice=False)
    description = StringField(_l("What was received"), render_kw={"maxlength": 200})
    amount_vnd = StringField(_l("Value (đồng)"))


class SettingsForm(FlaskForm):
    max_shelter_days = StringField(_l("Nights of shelter before a warning"))
    notice_hours = StringField(_l("Hours after the intake before a missing commune notice is flagged (project "
                                  "rule; default 24)"))
