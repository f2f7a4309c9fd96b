"""Password hashing with argon2id (RFC 9106), behind the small port services use."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile)."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        defaults = PasswordHasher()
        self._hasher = PasswordHasher(time_cost=time_cost or defaults.time_cost,
                                      memory_cost=memory_cost or defaults.memory_cost)

    def hash(self, password: str) -> str:
        """Hash a new password."""
        return str(self._hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches the stored hash."""
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
