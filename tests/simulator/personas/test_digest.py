"""HTTP Digest as devices do it, checked with httpx.DigestAuth as the independent client."""

from __future__ import annotations

import hashlib

import httpx
from aiohttp import web

from tests.simulator.loopback import serve
from vtrack.simulator.config import Faults
from vtrack.simulator.personas.digest import DigestAuthenticator, Verdict, parse_authorization
from vtrack.simulator.personas.guard import DeviceGuard, Refusal

USER, PASSWORD = "admin", "s3cret-pass"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def hello(request: web.Request) -> web.StreamResponse:
    return web.Response(text="hello")


def guarded_app(auth: DigestAuthenticator, faults: Faults, port_faults: bool = True) -> web.Application:
    refusal = Refusal(b"no", b"bad", "text/plain")
    guard = DeviceGuard(auth, USER, PASSWORD, lambda: faults, refusal, port_faults=port_faults)
    app = web.Application()
    app.router.add_get("/x", guard.protect(hello))
    return app


def challenge_params(response: httpx.Response) -> dict[str, str]:
    params = parse_authorization(response.headers["WWW-Authenticate"])
    assert params is not None
    return params


async def test_right_credentials_pass_and_wrong_ones_get_a_challenge() -> None:
    async with serve(guarded_app(DigestAuthenticator("IP Camera(12345)"), Faults())) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            anonymous = await client.get("/x")
            assert anonymous.status_code == 401
            params = challenge_params(anonymous)
            assert params["realm"] == "IP Camera(12345)" and params["qop"] == "auth"
            assert params["algorithm"] == "MD5" and "stale" not in params

            ok = await client.get("/x?a=1&b=2", auth=httpx.DigestAuth(USER, PASSWORD))
            assert (ok.status_code, ok.text) == (200, "hello")

            wrong = await client.get("/x", auth=httpx.DigestAuth(USER, "nope"))
            assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
            other_user = await client.get("/x", auth=httpx.DigestAuth("operator", PASSWORD))
            assert other_user.status_code == 401
            basic = await client.get("/x", auth=httpx.BasicAuth(USER, PASSWORD))
            assert basic.status_code == 401


async def test_expired_nonce_is_answered_stale_and_the_client_recovers() -> None:
    clock = FakeClock()
    async with serve(guarded_app(DigestAuthenticator("r", nonce_lifetime=60, clock=clock), Faults())) as base:
        seen: list[httpx.Response] = []

        async def record(response: httpx.Response) -> None:
            seen.append(response)

        async with httpx.AsyncClient(base_url=base, event_hooks={"response": [record]}) as client:
            auth = httpx.DigestAuth(USER, PASSWORD)
            assert (await client.get("/x", auth=auth)).status_code == 200
            # httpx reuses the nonce with a higher nc: no new challenge while it is fresh.
            seen.clear()
            assert (await client.get("/x", auth=auth)).status_code == 200
            assert [r.status_code for r in seen] == [200]

            clock.now += 61
            seen.clear()
            assert (await client.get("/x", auth=auth)).status_code == 200
            assert [r.status_code for r in seen] == [401, 200]
            assert challenge_params(seen[0]).get("stale") == "true"


def digest_header(challenge: dict[str, str], uri: str, nc: str, password: str = PASSWORD) -> str:
    """Built by hand from RFC 7616, to send what httpx never would (a replayed nonce-count)."""

    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1 = md5(f"{USER}:{challenge['realm']}:{password}")
    ha2 = md5(f"GET:{uri}")
    response = md5(f"{ha1}:{challenge['nonce']}:{nc}:abcdef:auth:{ha2}")
    return (
        f'Digest username="{USER}", realm="{challenge["realm"]}", nonce="{challenge["nonce"]}", uri="{uri}", '
        f'response="{response}", qop=auth, nc={nc}, cnonce="abcdef", opaque="{challenge["opaque"]}"'
    )


async def test_replayed_nonce_count_and_foreign_uri_are_refused() -> None:
    async with serve(guarded_app(DigestAuthenticator("r"), Faults())) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            challenge = challenge_params(await client.get("/x"))
            first = digest_header(challenge, "/x", "00000001")
            assert (await client.get("/x", headers={"Authorization": first})).status_code == 200
            replay = await client.get("/x", headers={"Authorization": first})
            assert replay.status_code == 401
            # Counts may come out of order (concurrent requests on one nonce), just never twice.
            for nc in ("00000003", "00000002"):
                header = digest_header(challenge, "/x", nc)
                assert (await client.get("/x", headers={"Authorization": header})).status_code == 200
            foreign = digest_header(challenge, "/elsewhere", "00000004")
            assert (await client.get("/x", headers={"Authorization": foreign})).status_code == 400


async def test_wrong_password_fault_rejects_the_right_password_and_offline_drops_the_connection() -> None:
    faults = Faults()
    async with serve(guarded_app(DigestAuthenticator("r"), faults)) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            auth = httpx.DigestAuth(USER, PASSWORD)
            faults.wrong_password = True
            assert (await client.get("/x", auth=auth)).status_code == 401
            faults.wrong_password = False
            assert (await client.get("/x", auth=auth)).status_code == 200
            faults.offline = True
            try:
                await client.get("/x", auth=auth)
            except httpx.RemoteProtocolError:
                pass
            else:
                raise AssertionError("an offline device answered")


async def test_port_faults_can_be_left_to_the_server_in_front() -> None:
    faults = Faults(offline=True, slow_seconds=5)
    async with serve(guarded_app(DigestAuthenticator("r"), faults, port_faults=False)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            auth = httpx.DigestAuth(USER, PASSWORD)
            assert (await client.get("/x", auth=auth)).status_code == 200
            faults.wrong_password = True
            assert (await client.get("/x", auth=auth)).status_code == 401


def test_authenticator_verdicts_without_a_server() -> None:
    auth = DigestAuthenticator("realm")
    params = parse_authorization(auth.challenge())
    assert params is not None
    header = digest_header(params, "/p?q=1", "00000001")
    assert auth.verify("GET", "/p?q=1", header, USER, None) is Verdict.CHALLENGE
    assert auth.verify("GET", "/p?q=1", header, USER, PASSWORD) is Verdict.OK
    assert auth.verify("GET", "/p?q=1", "Digest garbage", USER, PASSWORD) is Verdict.CHALLENGE
    assert auth.verify("GET", "/p?q=1", None, USER, PASSWORD) is Verdict.CHALLENGE
    unknown_nonce = digest_header({**params, "nonce": "deadbeef"}, "/p?q=1", "00000001")
    assert auth.verify("GET", "/p?q=1", unknown_nonce, USER, PASSWORD) is Verdict.STALE
    assert parse_authorization('Digest a="x\\"y", b=2') == {"a": 'x"y', "b": "2"}
