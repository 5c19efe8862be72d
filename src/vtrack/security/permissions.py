"""Roles and what each may do; the roles table is kept in step with this on every start."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CAMERAS_READ = "cameras:read"
    CAMERAS_WRITE = "cameras:write"
    SOURCES_READ = "sources:read"
    SOURCES_WRITE = "sources:write"
    JOBS_READ = "jobs:read"
    JOBS_WRITE = "jobs:write"
    AUDIT_READ = "audit:read"
    ANALYTICS_READ = "analytics:read"
    ANALYTICS_WRITE = "analytics:write"
    USERS_ADMIN = "users:admin"


class RoleName(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


BUILTIN_ROLES: dict[RoleName, tuple[str, frozenset[Permission]]] = {
    RoleName.ADMIN: ("Everything, including users and credentials", frozenset(Permission)),
    RoleName.OPERATOR: (
        "Manages cameras, sources and jobs",
        frozenset(
            {
                Permission.CAMERAS_READ,
                Permission.CAMERAS_WRITE,
                Permission.SOURCES_READ,
                Permission.SOURCES_WRITE,
                Permission.JOBS_READ,
                Permission.JOBS_WRITE,
                Permission.ANALYTICS_READ,
                Permission.ANALYTICS_WRITE,
            }
        ),
    ),
    RoleName.VIEWER: (
        "Looks, changes nothing",
        frozenset(
            {
                Permission.CAMERAS_READ,
                Permission.SOURCES_READ,
                Permission.JOBS_READ,
                Permission.ANALYTICS_READ,
            }
        ),
    ),
}
