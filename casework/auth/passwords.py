"""argon2id password hashing (security.md §2.3)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 128  # refused before hashing: a 1 MB password must not cost 1 MB of argon2 work


_PARAMS = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 2}


def configure(time_cost: int, memory_cost: int) -> None:
    """Tests lower the cost; production keeps the defaults (RFC 9106 second recommendation)."""
    if (time_cost, memory_cost) != (_PARAMS["time_cost"], _PARAMS["memory_cost"]):
        _PARAMS.update(time_cost=time_cost, memory_cost=memory_cost)
        _hasher.cache_clear()
        dummy_hash.cache_clear()


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher(**_PARAMS)


def hash_password(password: str) -> str:
    if len(password) > MAX_LENGTH:
        raise ValueError("password too long")
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


@cache
def dummy_hash() -> str:
    """Verified against when the user does not exist, so that both paths cost the same."""
    return _hasher().hash("not-a-real-password-for-timing")
