"""Accounts: users, password sign-in (audited), browser sessions with idle timeout, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from radflow.domain.audit import Outcome
from radflow.domain.errors import Conflict, Unauthenticated, ValidationError
from radflow.domain.ids import new_id
from radflow.domain.policy import Action
from radflow.domain.users import Principal, Role, User
from radflow.domain.values import Npi
from radflow.services.access import guard
from radflow.services.audit import record_access, record_refusal
from radflow.services.context import ServiceContext
from radflow.services.unit_of_work import UnitOfWork, UnitOfWorkFactory, WebSession

MIN_PASSWORD_LENGTH = 12  # NIST SP 800-63B 5.1.1.2: at least 8; 12 for staff accounts with PHI access


class PasswordHasher(Protocol):
    """Hashes and checks passwords (argon2id in production)."""

    def hash(self, password: str) -> str:
        """Hash a new password."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True when the password matches."""
        ...


def token_hash(token: str) -> str:
    """What is stored for a session or API token: its SHA-256 (the token itself never is)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreateUser:
    """Create an account."""

    actor: Principal
    username: str
    display_name: str
    role: str
    password: str
    npi: str = ""
    patient_id: str | None = None
    is_section_chief: bool = False
    is_lead_technologist: bool = False
    email: str = ""
    covers_npis: tuple[str, ...] = ()


def create_user(cmd: CreateUser, uow: UnitOfWork, ctx: ServiceContext, hasher: PasswordHasher) -> str:
    """Create a user with an argon2id password hash; refuses weak passwords and taken names."""
    guard(cmd.actor, Action.USER_MANAGE)
    username = cmd.username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationError("user name: letters, digits, '.', '_' or '-'", field="username")
    try:
        role = Role(cmd.role)
    except ValueError:
        raise ValidationError(f"role '{cmd.role}' is not one of {', '.join(r.value for r in Role)}",
                              field="role") from None
    if len(cmd.password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters", field="password")
    npi = Npi.parse(cmd.npi).value if cmd.npi else ""
    if role is Role.REFERRING_PROVIDER and not npi:
        raise ValidationError("a referring provider's account needs their NPI", field="npi")
    if role is Role.PATIENT and not cmd.patient_id:
        raise ValidationError("a patient account must be linked to a patient record", field="patient_id")
    with uow:
        if uow.users.by_username(username) is not None:
            raise Conflict(f"user name '{username}' is taken")
        if cmd.patient_id:
            uow.patients.get(cmd.patient_id)
        user = User(id=new_id(), username=username, display_name=cmd.display_name.strip() or username, role=role,
                    password_hash=hasher.hash(cmd.password), created_at=ctx.clock.now(), npi=npi,
                    patient_id=cmd.patient_id, is_section_chief=cmd.is_section_chief,
                    is_lead_technologist=cmd.is_lead_technologist, email=cmd.email.strip(),
                    covers_npis=[Npi.parse(n).value for n in cmd.covers_npis])
        uow.users.add(user)
        record_access(uow, ctx, cmd.actor, "user.create", object_type="user", object_id=user.id,
                      detail=f"{username} ({role.value})")
        uow.commit()
        return user.id


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: the token for the cookie and the CSRF token for forms."""

    session_token: str
    csrf_token: str
    principal: Principal


def sign_in(uow_factory: UnitOfWorkFactory, ctx: ServiceContext, hasher: PasswordHasher,
            username: str, password: str, source: str) -> SignedIn:
    """Check a password and open a session; every attempt is audited, failures in their own transaction."""
    name = username.strip().lower()
    with uow_factory() as uow:
        user = uow.users.by_username(name)
        if user is not None and user.active and hasher.verify(user.password_hash, password):
            now = ctx.clock.now()
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            uow.credentials.add_session(WebSession(token_hash(token), user.id, csrf, now, now), source)
            principal = user.principal(source)
            record_access(uow, ctx, principal, "login", object_type="user", object_id=user.id)
            uow.commit()
            return SignedIn(token, csrf, principal)
    failed = Principal(user_id="", username=name[:100], role=Role.PATIENT, active=False, source=source)
    record_refusal(uow_factory, ctx, failed, "login", detail="wrong user name or password",
                   outcome=Outcome.FAILED)
    raise Unauthenticated("wrong user name or password")


def session_principal(uow_factory: UnitOfWorkFactory, ctx: ServiceContext, token: str,
                      source: str, *, activity: bool = True) -> tuple[Principal, str]:
    """The principal and CSRF token of a live session; an idle or unknown session is refused.

    `activity=False` (a board refreshing itself) reads the session without resetting its idle clock.
    """
    with uow_factory() as uow:
        session = uow.credentials.session(token_hash(token))
        if session is None:
            raise Unauthenticated("please sign in")
        now = ctx.clock.now()
        if now - session.last_seen_at > timedelta(minutes=ctx.settings.session_idle_minutes):
            uow.credentials.end_session(session.token_hash)
            uow.commit()
            raise Unauthenticated("your session timed out after inactivity; please sign in again")
        user = uow.users.get(session.user_id)
        if not user.active:
            raise Unauthenticated("this account is disabled")
        # Touch at most once a minute: keeps the idle clock right without a write per request.
        if activity and now - session.last_seen_at > timedelta(minutes=1):
            uow.credentials.touch_session(session.token_hash, now)
            uow.commit()
        return user.principal(source), session.csrf_token


def sign_out(uow_factory: UnitOfWorkFactory, ctx: ServiceContext, token: str, principal: Principal) -> None:
    """End a browser session (audited)."""
    with uow_factory() as uow:
        uow.credentials.end_session(token_hash(token))
        record_access(uow, ctx, principal, "logout", object_type="user", object_id=principal.user_id)
        uow.commit()


def issue_api_token(uow_factory: UnitOfWorkFactory, ctx: ServiceContext, actor: Principal,
                    username: str, name: str = "cli") -> str:
    """Create a bearer token for a user and return it (shown once, stored hashed)."""
    guard(actor, Action.USER_MANAGE)
    with uow_factory() as uow:
        user = uow.users.by_username(username.strip().lower())
        if user is None:
            raise ValidationError(f"no user '{username}'", field="username")
        token = "rf_" + secrets.token_urlsafe(32)
        uow.credentials.add_token(token_hash(token), user.id, name, ctx.clock.now())
        record_access(uow, ctx, actor, "token.create", object_type="user", object_id=user.id, detail=name)
        uow.commit()
        return token


def token_principal(uow_factory: UnitOfWorkFactory, token: str, source: str) -> Principal:
    """The principal a bearer token stands for; unknown or revoked tokens are refused."""
    with uow_factory() as uow:
        user = uow.credentials.token_owner(token_hash(token))
        if user is None:
            raise Unauthenticated("unknown or revoked API token")
        if not user.active:
            raise Unauthenticated("this account is disabled")
        return user.principal(source)
