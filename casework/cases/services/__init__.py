"""Trusted-address casework: the services every screen and API route calls (STYLE rule 3).

Each service takes the acting user explicitly, validates, changes rows, writes the audit event (ids
and codes only), flushes and never commits; the request commits once. Errors are domain errors with a
translated message per field; an invalid call changes nothing because the request rolls back.

Public entry points other domains use (see the report in the docs):

- ``cases_visible_to(user)``, ``get_case_or_404(user, case_id)`` (re-exported from ``policy``);
- ``add_timeline_entry(actor, case, kind, note=None, object_type=None, object_id=None)`` (from
  ``casework.cases.timeline``) and ``casework.cases.extensions.register_timeline_kind(app, kind, label)``;
- consent questions in ``casework.cases.consent``.

Split by subject (issue 14): ``common`` (errors, text, today), ``addresses``, ``province_settings``, ``intake``,
``edits``, ``shelter``, ``contact_bans``, ``follow_ups``, ``closing``, ``flags`` (reminders and suggestions),
``lists`` (lists and search) and ``page`` (what the case page reads); the timeline is ``casework.cases.timeline``
and ``require_open`` ``casework.cases.closure``, which ``casework.cases.consent`` uses without importing this
package. Every name is reached as ``casework.cases.services.X`` as before.
"""

from __future__ import annotations

from casework.cases.closure import require_open
from casework.cases.models import Address, Case
from casework.cases.policy import (
    addresses_visible_to,
    can_decide_closure,
    can_manage_address,
    can_see_identity,
    case_scope,
    cases_visible_to,
    get_address_or_404,
    get_case_or_404,
)
from casework.cases.schemas import add_months
from casework.cases.services.addresses import (
    add_support,
    add_training,
    address_errors,
    create_address,
    update_address,
)
from casework.cases.services.closing import decide_closure, reopen_case, request_closure
from casework.cases.services.common import local_today
from casework.cases.services.contact_bans import (
    decide_contact_ban,
    record_court_ban,
    request_contact_ban,
    revoke_contact_ban,
)
from casework.cases.services.edits import check_version, intake_data_of, update_case, update_errors, with_changes
from casework.cases.services.flags import CaseFlags, flags_for, notice_overdue, suggestions
from casework.cases.services.follow_ups import FollowUpData, add_follow_up, default_next_follow_up
from casework.cases.services.intake import (
    IDENTITY_FIELDS,
    IntakeData,
    PersonData,
    acts_not_counted,
    confirm_acts_not_counted,
    create_case,
    intake_errors,
    parts_by_act,
    record_commune_notice,
    warnings_of,
)
from casework.cases.services.lists import (
    NO_FILTERS,
    PAGE_SIZE,
    CaseRow,
    Page,
    encode_cursor,
    list_case_rows,
    list_cases,
    record_list,
    record_view,
    search_case_rows,
    search_cases,
)
from casework.cases.services.page import CaseHas, get_case_page_or_404
from casework.cases.services.province_settings import (
    max_shelter_days,
    notice_hours,
    notice_hours_by_province,
    set_max_shelter_days,
    set_notice_hours,
)
from casework.cases.services.shelter import ShelterData, add_shelter_stay, shelter_nights, update_shelter_stay
from casework.cases.timeline import add_timeline_entry, own_timeline_kinds, timeline

# ``Address`` and ``Case`` are read as ``services.Address``/``services.Case`` by the views, the API and tests;
# the policy names and ``add_months`` were re-exported by the single module this package replaces.
__all__ = [
    "IDENTITY_FIELDS", "NO_FILTERS", "PAGE_SIZE", "Address", "Case", "CaseFlags", "CaseHas", "CaseRow", "FollowUpData",
    "IntakeData", "Page", "PersonData", "ShelterData", "acts_not_counted", "add_follow_up", "add_months",
    "add_shelter_stay", "add_support", "add_timeline_entry", "add_training", "address_errors",
    "addresses_visible_to", "can_decide_closure", "can_manage_address", "can_see_identity", "case_scope",
    "cases_visible_to", "check_version", "confirm_acts_not_counted", "create_address", "create_case",
    "decide_closure", "decide_contact_ban", "default_next_follow_up", "encode_cursor", "flags_for",
    "get_address_or_404", "get_case_or_404", "get_case_page_or_404",
    "intake_data_of", "intake_errors", "list_case_rows", "list_cases",
    "local_today", "max_shelter_days", "notice_hours", "notice_hours_by_province",
    "notice_overdue", "own_timeline_kinds", "parts_by_act", "record_commune_notice", "record_court_ban",
    "record_list", "record_view", "reopen_case", "request_closure", "request_contact_ban", "require_open",
    "revoke_contact_ban", "search_case_rows", "search_cases", "set_max_shelter_days", "set_notice_hours",
    "shelter_nights", "suggestions", "timeline", "update_address", "update_case", "update_errors",
    "update_shelter_stay", "warnings_of", "with_changes",
]
