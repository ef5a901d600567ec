"""Accounts, sign-in, the second factor, sessions and API tokens: the services of the auth screens, its API and
the request cycle. Services flush and never commit (STYLE rule 3).

Split by subject (issue 14: a service file over 600 lines becomes a package): ``accounts`` (accounts, their
scope, passwords, sign-in and the second factor), ``sessions`` (sessions and API tokens: started at sign-in,
found with her user and trusted addresses on every request, ended by sign-out, time limits or an
administrator) and ``common`` (what both use: the settings, a token's hash). Every name is reached as
``casework.auth.services.X`` as before.
"""

from __future__ import annotations

from casework.auth.services.accounts import (
    ENROLMENT_CODE_HOURS,
    MAX_LOCK,
    RECOVERY_CODES,
    TOTP_ISSUER,
    NewUser,
    SignIn,
    SignInFailed,
    _apply_scope,
    authenticate,
    change_password,
    change_scope,
    check_password_rules,
    client_key,
    confirm_enrolment,
    create_user,
    needs_enrolment_code,
    normalise_username,
    redeem_enrolment_code,
    reset_second_factor,
    set_active,
    totp_uri,
)
from casework.auth.services.common import token_hash
from casework.auth.services.sessions import (
    active_sessions,
    active_tokens,
    client_label,
    end_all_sessions,
    end_other_sessions,
    end_session,
    issue_api_token,
    load_api_token,
    load_session,
    start_session,
)

__all__ = [
    "ENROLMENT_CODE_HOURS", "MAX_LOCK", "RECOVERY_CODES", "TOTP_ISSUER", "NewUser", "SignIn", "SignInFailed",
    "_apply_scope", "active_sessions", "active_tokens", "authenticate", "change_password", "change_scope",
    "check_password_rules", "client_key", "client_label", "confirm_enrolment", "create_user", "end_all_sessions",
    "end_other_sessions", "end_session", "issue_api_token", "load_api_token", "load_session", "needs_enrolment_code",
    "normalise_username", "redeem_enrolment_code", "reset_second_factor", "set_active", "start_session",
    "token_hash", "totp_uri",
]
