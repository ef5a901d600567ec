"""What a referral's page and API answer show of her, and the names their read event records (issue 18).

A receiver reads the referral's own words and the case fields frozen at sending that her consent (or the
override) still covers; a sender reads the referral's own words, the override's reason included (she sees
the case itself on the case page). ``view`` builds both parts once; the page and the answer show only
what it holds, and the read event records ``ReferralView.fields``: the names of its non-empty entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casework.auth.models import User
from casework.shown import shown_fields
from referral import services
from referral.models import Referral


@dataclass(frozen=True)
class ReferralView:
    receiver: bool
    text: dict[str, Any]  # the referral's own protected words, keyed by audit name
    shared_fields: tuple[str, ...]  # receiver: the case fields she may read now
    values: dict[str, Any]  # receiver: their values, keyed by the same names
    override: bool

    @property
    def fields(self) -> list[str]:
        return shown_fields({**self.text, **self.values, "override": self.override or None})


def view(user: User, referral: Referral, case: Any) -> ReferralView:
    receiver = services.is_receiver(user, referral)
    text: dict[str, Any] = {"reason": referral.reason}
    if not receiver and referral.override:
        text["override_reason"] = referral.override_reason
    if referral.state == "declined":
        text["decline_reason"] = referral.decline_reason
    if referral.state == "completed":
        text["service_given"], text["outcome"] = referral.service_given, referral.outcome
    fields: tuple[str, ...] = ()
    values: dict[str, Any] = {}
    if receiver:
        fields = services.visible_fields(referral, case)
        values = services.shared_values(referral, case, fields)
    return ReferralView(receiver=receiver, text=text, shared_fields=fields, values=values,
                        override=bool(referral.override))
