"""Organisation directory and referrals. Services flush and never commit (STYLE rule 3).

Referrals (DESIGN §2, issue 5): a host or commune officer sends a case to an organisation for one kind
of service; the receiving organisation's staff (``service_provider``) accept or decline it and record
the service given. The consent gate is here, on the server: a referral shares exactly the parts of
the case she agreed to share with that kind of service, frozen when it is sent, or nothing at all.
Each transition is one conditional UPDATE on the expected state, so two receivers answering at the
same moment cannot both win.

Split by subject (issue 14): ``common``, ``organisations`` (the directory), ``sharing`` (consent and children),
``deadlines``, ``sending``, ``transitions`` and ``lists``; who sees which referral and organisation is
``referral.policy``, re-exported here, so every name is reached as ``referral.services.X`` as before.
"""

from __future__ import annotations

from casework.service_types import SERVICE_TYPES
from referral.policy import (
    SENDER_ROLES,
    can_manage_organisations,
    case_of,
    get_organisation_or_404,
    get_referral_or_404,
    is_receiver,
    is_sender_side,
    organisations_visible_to,
    referrals_visible_to,
)
from referral.services.deadlines import ack_hours, can_set_deadlines, deadlines_for, set_deadlines
from referral.services.lists import (
    PAGE_SIZE,
    ReferralPage,
    case_referrals,
    encode_cursor,
    list_referrals,
    record_list,
    record_view,
)
from referral.services.organisations import (
    in_vietnamese_order,
    organisations_serving,
    save_organisation,
)
from referral.services.sending import NewReferral, referral_errors, send_referral
from referral.services.sharing import (
    STATES_SHOWING_SHARED,
    consented_fields,
    has_young_children,
    is_child,
    shared_values,
    visible_fields,
)
from referral.services.transitions import (
    TRANSITIONS,
    accept_referral,
    cancel_referral,
    complete_referral,
    completion_errors,
    decline_referral,
)

# ``SERVICE_TYPES`` is read as ``services.SERVICE_TYPES`` by tests, as it was from the single module.
__all__ = [
    "PAGE_SIZE", "SENDER_ROLES", "SERVICE_TYPES", "STATES_SHOWING_SHARED", "TRANSITIONS", "NewReferral",
    "ReferralPage", "accept_referral", "ack_hours", "can_manage_organisations", "can_set_deadlines",
    "cancel_referral", "case_of", "case_referrals", "complete_referral", "completion_errors",
    "consented_fields", "decline_referral", "deadlines_for", "encode_cursor", "get_organisation_or_404",
    "get_referral_or_404", "has_young_children", "in_vietnamese_order", "is_child", "is_receiver",
    "is_sender_side", "list_referrals", "organisations_serving", "organisations_visible_to", "record_list",
    "record_view", "referral_errors", "referrals_visible_to", "save_organisation", "send_referral",
    "set_deadlines", "shared_values", "visible_fields",
]
