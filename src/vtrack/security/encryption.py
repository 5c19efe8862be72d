"""AES-256-GCM encryption of stored credentials, under a key id so keys can rotate.

Ciphertext format: ``v1:<key id>:<base64url(nonce || ciphertext+tag)>``. The key id lets old rows be
read after rotation until they are re-encrypted; the associated data binds a value to its purpose
(e.g. ``camera.password``) so a ciphertext cannot be swapped into another column.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SecretError(Exception):
    """A value could not be decrypted: wrong key, unknown key id, or tampering."""


def _b64d(text: str) -> bytes:
    # validate=True: characters outside the alphabet are an error, not silently skipped.
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretError("malformed base64") from exc


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def key_id_for(key: bytes) -> str:
    return hashlib.sha256(b"vtrack-key-id" + key).hexdigest()[:8]


def parse_key(text: str) -> bytes:
    key = _b64d(text.strip())
    if len(key) != 32:
        raise SecretError("a secret key must be 32 bytes, base64-encoded")
    return key


@dataclass
class Keyring:
    """The current key encrypts; every known key decrypts."""

    current: bytes
    retired: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {key_id_for(k): k for k in [*self.retired, self.current]}

    @property
    def current_id(self) -> str:
        return key_id_for(self.current)

    def encrypt(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.current).encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{_PREFIX}:{self.current_id}:{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, purpose: str) -> str:
        try:
            prefix, kid, body = token.split(":", 2)
        except ValueError as exc:
            raise SecretError("not an encrypted value") from exc
        if prefix != _PREFIX:
            raise SecretError(f"unknown format {prefix!r}")
        key = self._by_id.get(kid)
        if key is None:
            raise SecretError(f"no key with id {kid}")
        raw = _b64d(body)
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SecretError("encrypted value too short")
        try:
            return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode()).decode()
        except InvalidTag as exc:
            raise SecretError("decryption failed (wrong key or tampered value)") from exc

    def key_id_of(self, token: str) -> str | None:
        parts = token.split(":", 2)
        return parts[1] if len(parts) == 3 else None

    def derive(self, label: str) -> bytes:
        """A separate key for another use (token signing), so the encryption key is never reused raw."""
        return hashlib.sha256(b"vtrack-derive:" + label.encode() + b":" + self.current).digest()


class KeyFile:
    """The 0600 JSON file in the data dir holding the current key and the retired ones."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load_or_create(self) -> Keyring:
        if not self.path.exists():
            keyring = Keyring(current=secrets.token_bytes(32))
            if self._write(keyring, exclusive=True):
                return keyring
            # Another process created it first: use its key, or the two would encrypt under different keys.
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretError(f"{self.path} is readable by others (mode {mode:o}); run chmod 600 on it")
        try:
            data = json.loads(self.path.read_text())
            return Keyring(
                current=parse_key(data["current"]), retired=[parse_key(k) for k in data.get("retired", [])]
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # ValueError covers bad JSON and bytes that are not UTF-8.
            raise SecretError(f"{self.path} is not a vtrack key file") from exc

    def save(self, keyring: Keyring) -> None:
        """Write atomically with 0600 from the first byte, so no reader ever sees a partial or open file."""
        self._write(keyring, exclusive=False)

    def _write(self, keyring: Keyring, *, exclusive: bool) -> bool:
        """Returns False when exclusive and the file already exists (it is then left untouched)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(
            {"current": _b64e(keyring.current), "retired": [_b64e(k) for k in keyring.retired]}
        ).encode()
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())
            if exclusive:
                os.link(tmp, self.path)  # fails when the file exists: creation without a race
            else:
                os.replace(tmp, self.path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        self._sync_dir()
        return True

    def _sync_dir(self) -> None:
        """Make the rename or link itself durable, so a crash cannot bring back the previous key file."""
        with contextlib.suppress(OSError):
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
