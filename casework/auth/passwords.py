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
    return PasswordHasher(time_cost=_PARAMS["time_cost"], memory_cost=_PARAMS["memory_cost"],
                          parallelism=_PARAMS["parallelism"])


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


# --- password rules (NIST SP 800-63B §3.1.1.2: length and a blocklist, no composition rules) ---------

# Compared after folding (no accents, lower case, letters and digits only). The common passwords are the
# most frequent ones in public breach lists plus their Vietnamese counterparts; a password that is only
# one of them with digits or signs around it is refused too.
COMMON_PASSWORDS = frozenset("""
123456789012 1234567890123 12345678901234 111111111111 000000000000 123123123123 121212121212
qwertyuiopas qwertyuiop1234 1qaz2wsx3edc4rfv asdfghjkl1234 zxcvbnm12345 qazwsxedcrfv
password passw0rd passwordpassword password123 iloveyou princess sunshine football baseball superman
letmein welcome monkey dragon master trustno1 abc123 qwerty abcdefghijkl abcdefabcdef administrator
changeme secret loveyou anhyeuem emyeuanh yeuem matkhau matkhaucuatoi matkhaumoi vietnam vietnamvodich
hanoi saigon hochiminh tphcm toilanguoivietnam xinchao admin root user guest
""".split())
# Words of this project and this organisation: the first guesses of anyone attacking it.
PROJECT_WORDS = ("tincay", "hoiphunu", "hoilienhiepphunu", "lhpn", "phunuvietnam", "casework", "diachitincay")


def fold(text: str) -> str:
    """Lower case, accents removed (đ → d), letters and digits only: "Tin Cậy!" → "tincay"."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and not unicodedata.combining(ch)
                   and ch.isascii())


def weakness(password: str, username: str = "", display_name: str = "") -> str | None:
    """Why this password is refused ("short", "long", "common", "project", "personal") or None."""
    if len(password) < MIN_LENGTH:
        return "short"
    if len(password) > MAX_LENGTH:
        return "long"
    folded = fold(password)
    core = folded.strip("0123456789")
    if (folded in COMMON_PASSWORDS or core in COMMON_PASSWORDS or len(set(folded)) <= 2
            or any(core == word * (len(core) // max(len(word), 1)) for word in COMMON_PASSWORDS if core)):
        return "common"
    if any(word in folded for word in PROJECT_WORDS):
        return "project"
    for personal in (fold(username), *(fold(part) for part in display_name.split())):
        if len(personal) >= 3 and personal in folded:
            return "personal"
    return None
