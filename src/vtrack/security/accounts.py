"""User accounts: creation, changes, login and token refresh."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from vtrack.db.models import User
from vtrack.db.repositories.users import RoleRepository, UserRepository
from vtrack.db.types import utcnow
from vtrack.errors import ConflictError, DomainError, NotFoundError
from vtrack.security.audit import Actor, Auditor
from vtrack.security.passwords import MIN_PASSWORD_LENGTH, generate_password, hash_password, verify_password
from vtrack.security.permissions import BUILTIN_ROLES, RoleName
from vtrack.security.ratelimit import LoginThrottle
from vtrack.security.tokens import TokenError, TokenPair, TokenService

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")


class AuthenticationError(DomainError):
    code = "unauthorized"


class ThrottledError(DomainError):
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


def _password_rules(value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if value.strip() != value or not value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=_USERNAME.pattern)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=128, repr=False)
    role: RoleName = RoleName.VIEWER

    _check_password = field_validator("password")(_password_rules)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=128, repr=False)
    role: RoleName | None = None
    is_active: bool | None = None

    @field_validator("password")
    @classmethod
    def _check_password(cls, value: str | None) -> str | None:
        return None if value is None else _password_rules(value)


async def sync_builtin_roles(session: AsyncSession) -> None:
    await RoleRepository(session).sync(
        (role.value, description, sorted(p.value for p in permissions))
        for role, (description, permissions) in BUILTIN_ROLES.items()
    )


class AccountService:
    def __init__(self, session: AsyncSession, auditor: Auditor) -> None:
        self.users = UserRepository(session)
        self.session = session
        self.audit = auditor

    async def get(self, user_id: str) -> User:
        user = await self.users.get(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found")
        return user

    async def create(self, data: UserCreate) -> User:
        if await self.users.by_username(data.username) is not None:
            raise ConflictError(
                f"user {data.username!r} already exists", [{"field": "username", "message": "already taken"}]
            )
        password_hash = await asyncio.to_thread(hash_password, data.password)
        user = User(username=data.username, password_hash=password_hash, role_name=data.role)
        self.users.add(user)
        await self.session.flush()
        await self.session.refresh(user, ["role"])
        self.audit.record("user.create", "user", user.id, username=user.username, role=user.role_name)
        return user

    async def _keep_an_admin(self, user: User) -> None:
        if (
            user.role_name == RoleName.ADMIN
            and user.is_active
            and await self.users.count_active_admins() <= 1
        ):
            raise ConflictError("this is the last active admin; create another admin first")

    async def update(self, user: User, data: UserUpdate) -> User:
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        demoting = "role" in changes and changes["role"] != RoleName.ADMIN
        if demoting or changes.get("is_active") is False:
            await self._keep_an_admin(user)
        if "password" in changes:
            user.password_hash = await asyncio.to_thread(hash_password, changes["password"])
            user.token_version += 1
        if "role" in changes:
            user.role_name = changes["role"]
        if "is_active" in changes:
            if not changes["is_active"]:
                user.token_version += 1
            user.is_active = changes["is_active"]
        await self.session.flush()
        await self.session.refresh(user, ["role"])
        fields = sorted(changes)
        self.audit.record("user.update", "user", user.id, username=user.username, fields=fields)
        return user

    async def delete(self, user: User, acting_user_id: str | None) -> None:
        if user.id == acting_user_id:
            raise ConflictError("you cannot delete your own account")
        await self._keep_an_admin(user)
        await self.users.delete(user)
        self.audit.record("user.delete", "user", user.id, username=user.username)

    async def ensure_admin(self, password: str | None) -> str | None:
        """Create `admin` on a first start; returns the password only when it was generated, to show once."""
        if await self.users.count() > 0:
            return None
        chosen = password if password is not None else generate_password()
        _password_rules(chosen)
        password_hash = await asyncio.to_thread(hash_password, chosen)
        user = User(username="admin", password_hash=password_hash, role_name=RoleName.ADMIN)
        self.users.add(user)
        await self.session.flush()
        self.audit.record("user.create", "user", user.id, username="admin", role="admin", via="first start")
        return None if password is not None else chosen


@dataclass(frozen=True)
class LoginResult:
    user: User
    tokens: TokenPair


class Authenticator:
    """Checks credentials under the throttle and audits every attempt, success or failure."""

    def __init__(self, tokens: TokenService, throttle: LoginThrottle) -> None:
        self.tokens = tokens
        self.throttle = throttle

    async def login(self, session: AsyncSession, username: str, password: str, ip: str | None) -> LoginResult:
        audit = Auditor(session, Actor(user_id=None, username=username[:64], ip=ip))
        wait = self.throttle.acquire(username, ip)  # counted as a failure until it succeeds
        if wait is not None:
            audit.record("auth.login", "user", None, outcome="throttled")
            raise ThrottledError(wait)
        user = await UserRepository(session).by_username(username)
        # Argon2 takes a fifth of a second of CPU on purpose; off the event loop, other requests keep moving.
        ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
        if user is None or not ok or not user.is_active:
            reason = "inactive" if user is not None and ok else "bad credentials"
            audit.record("auth.login", "user", user.id if user else None, outcome="failure", reason=reason)
            raise AuthenticationError("invalid username or password")
        self.throttle.record_success(username, ip)
        user.last_login_at = utcnow()
        Auditor(session, Actor(user.id, user.username, ip)).record("auth.login", "user", user.id)
        return LoginResult(user=user, tokens=self.tokens.issue(user.id, user.token_version))

    async def refresh(self, session: AsyncSession, refresh_token: str) -> TokenPair:
        try:
            claims = self.tokens.verify(refresh_token, "refresh")
        except TokenError as exc:
            raise AuthenticationError(str(exc)) from None
        user = await UserRepository(session).get(claims.user_id)
        if user is None or not user.is_active or user.token_version != claims.version:
            raise AuthenticationError("refresh token no longer valid")
        return self.tokens.issue(user.id, user.token_version)
