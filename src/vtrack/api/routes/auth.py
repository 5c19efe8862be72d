"""Login, refresh and who-am-I."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vtrack.api.deps import CurrentUser, ServicesDep, SessionDep, client_ip
from vtrack.api.envelope import Envelope, error_responses, ok
from vtrack.api.schemas.auth import LoginRequest, RefreshRequest, TokenOut
from vtrack.api.schemas.users import UserOut
from vtrack.security.tokens import TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])


def _tokens(pair: TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/login", responses=error_responses(401, 422, 429))
async def login(
    body: LoginRequest, request: Request, services: ServicesDep, session: SessionDep
) -> Envelope[TokenOut]:
    # The failure's audit row must survive the error response, so commit before raising.
    try:
        result = await services.authenticator.login(session, body.username, body.password, client_ip(request))
    except Exception:
        await session.commit()
        raise
    return ok(_tokens(result.tokens))


@router.post("/refresh", responses=error_responses(401, 422))
async def refresh(body: RefreshRequest, services: ServicesDep, session: SessionDep) -> Envelope[TokenOut]:
    return ok(_tokens(await services.authenticator.refresh(session, body.refresh_token)))


@router.get("/me", responses=error_responses(401))
async def me(user: CurrentUser) -> Envelope[UserOut]:
    return ok(UserOut.of(user))
