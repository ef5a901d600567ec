"""Kinds of service a woman can be referred to; consent to share is given per service type.

The codes and labels have one source, ``casework.cases.codes.SERVICES`` (consent is recorded per
service there); the organisation directory and referrals read them from here. Acknowledgement
deadlines are the defaults of issue 5 (24 hours, 2 hours when urgent); provinces may set their own
(``referral.models.ReferralDeadline``).
"""

from __future__ import annotations

from casework.cases.codes import SERVICES

SERVICE_TYPES = SERVICES

DEFAULT_ACK_HOURS = 24
URGENT_ACK_HOURS = 2
