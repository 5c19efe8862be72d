"""AES-256-GCM keyring and the 0600 key file."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
from pathlib import Path

import pytest

from vtrack.security.encryption import KeyFile, Keyring, SecretError, key_id_for, parse_key

PURPOSE = "camera.password"


def new_keyring() -> Keyring:
    return Keyring(current=secrets.token_bytes(32))


def test_round_trip_and_format() -> None:
    keyring = new_keyring()
    token = keyring.encrypt("p@ss wörd", PURPOSE)
    prefix, kid, body = token.split(":", 2)
    assert (prefix, kid) == ("v1", keyring.current_id)
    assert kid == key_id_for(keyring.current) and len(kid) == 8
    assert "p@ss" not in token and "=" not in body
    assert keyring.decrypt(token, PURPOSE) == "p@ss wörd"
    assert keyring.key_id_of(token) == keyring.current_id
    assert keyring.decrypt(keyring.encrypt("", PURPOSE), PURPOSE) == ""


def test_ciphertext_differs_each_time() -> None:
    keyring = new_keyring()
    tokens = {keyring.encrypt("same", PURPOSE) for _ in range(20)}
    assert len(tokens) == 20
    assert {keyring.decrypt(t, PURPOSE) for t in tokens} == {"same"}


def test_purpose_binds_the_value() -> None:
    keyring = new_keyring()
    token = keyring.encrypt("secret", "camera.password")
    with pytest.raises(SecretError, match="tampered"):
        keyring.decrypt(token, "source.secret")


def _flip(text: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.index(text[index]) + 1) % len(alphabet)]
    return text[:index] + replacement + text[index + 1 :]


def test_tampering_fails_with_secret_error() -> None:
    keyring = new_keyring()
    token = keyring.encrypt("secret", PURPOSE)
    head, body = token.rsplit(":", 1)
    for index in (0, 5, len(body) // 2, len(body) - 2):
        with pytest.raises(SecretError):
            keyring.decrypt(f"{head}:{_flip(body, index)}", PURPOSE)
    with pytest.raises(SecretError):
        keyring.decrypt(f"{head}:{body[:-4]}", PURPOSE)  # truncated tag


@pytest.mark.parametrize(
    "token",
    [
        "",
        "plaintext",
        "v1:abc",
        "v2:{kid}:AAAA",
        "v1:{kid}:",  # no nonce at all
        "v1:{kid}:AAAA",  # shorter than a nonce
        "v1:{kid}:" + "A" * 16,  # a nonce and no tag
        "v1:{kid}:A",  # impossible base64 length
        "v1:{kid}:!!!!",
    ],
)
def test_malformed_values_fail_with_secret_error(token: str) -> None:
    keyring = new_keyring()
    with pytest.raises(SecretError):
        keyring.decrypt(token.format(kid=keyring.current_id), PURPOSE)


def test_unknown_key_id() -> None:
    token = new_keyring().encrypt("secret", PURPOSE)
    other = new_keyring()
    with pytest.raises(SecretError, match="no key with id"):
        other.decrypt(token, PURPOSE)
    # Even with the right key id forged in, another key cannot open it.
    forged = token.replace(token.split(":")[1], other.current_id, 1)
    with pytest.raises(SecretError, match="tampered"):
        other.decrypt(forged, PURPOSE)


def test_retired_key_still_decrypts() -> None:
    old = new_keyring()
    token = old.encrypt("secret", PURPOSE)
    rotated = Keyring(current=secrets.token_bytes(32), retired=[old.current])
    assert rotated.current_id != old.current_id
    assert rotated.decrypt(token, PURPOSE) == "secret"
    assert rotated.key_id_of(rotated.encrypt("x", PURPOSE)) == rotated.current_id
    with pytest.raises(SecretError):
        Keyring(current=rotated.current).decrypt(token, PURPOSE)


def test_derived_keys_differ_from_the_key_and_by_label() -> None:
    keyring = new_keyring()
    jwt_key = keyring.derive("jwt")
    assert len(jwt_key) == 32 and jwt_key != keyring.current
    assert jwt_key == keyring.derive("jwt") != keyring.derive("other")


def test_parse_key() -> None:
    raw = secrets.token_bytes(32)
    assert parse_key(base64.b64encode(raw).decode()) == raw
    assert parse_key(base64.urlsafe_b64encode(raw).decode().rstrip("=") + "\n") == raw
    for bad in ("", "c2hvcnQ=", base64.b64encode(secrets.token_bytes(16)).decode()):
        with pytest.raises(SecretError, match="32 bytes"):
            parse_key(bad)


def test_key_file_created_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "secret.key"
    first = KeyFile(path).load_or_create()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temp file left behind
    again = KeyFile(path).load_or_create()
    assert again.current == first.current and again.retired == []
    token = first.encrypt("secret", PURPOSE)
    assert again.decrypt(token, PURPOSE) == "secret"


def test_key_file_is_0600_even_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        KeyFile(tmp_path / "secret.key").load_or_create()
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600


def test_key_file_save_keeps_retired_keys(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    keyring = Keyring(current=secrets.token_bytes(32), retired=[secrets.token_bytes(32)])
    KeyFile(path).save(keyring)
    loaded = KeyFile(path).load_or_create()
    assert (loaded.current, loaded.retired) == (keyring.current, keyring.retired)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Saving again replaces the file in place, still 0600.
    KeyFile(path).save(Keyring(current=keyring.current))
    assert KeyFile(path).load_or_create().retired == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o620])
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.key"
    KeyFile(path).load_or_create()
    path.chmod(mode)
    with pytest.raises(SecretError) as raised:
        KeyFile(path).load_or_create()
    message = str(raised.value)
    assert str(path) in message and "chmod 600" in message and f"{mode:o}" in message


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"current": 5}',
        '{"current": "c2hvcnQ="}',
        '{"current": null}',
        '{"current": "%s", "retired": "abc"}',
        '{"current": "%s", "retired": [1]}',
        "\udcff",
    ],
)
def test_corrupt_key_file_is_a_secret_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secret.key"
    KeyFile(tmp_path / "valid.key").save(new_keyring())
    valid = json.loads((tmp_path / "valid.key").read_text())
    text = content % valid["current"] if "%s" in content else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, text.encode("utf-8", "surrogateescape"))
    os.close(fd)
    with pytest.raises(SecretError):
        KeyFile(path).load_or_create()


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    """Two processes starting on a fresh data dir must not each keep a different key."""
    path = tmp_path / "secret.key"
    results: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        results.append(KeyFile(path).load_or_create().current)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert KeyFile(path).load_or_create().current == results[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


def test_key_file_owner_only_modes_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    created = KeyFile(path).load_or_create()
    for mode in (0o400, 0o700):
        path.chmod(mode)
        assert KeyFile(path).load_or_create().current == created.current
