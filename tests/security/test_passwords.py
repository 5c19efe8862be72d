"""Argon2id hashing and verification."""

from __future__ import annotations

from vtrack.security.passwords import MIN_PASSWORD_LENGTH, generate_password, hash_password, verify_password


def test_hash_is_argon2id_and_salted() -> None:
    first = hash_password("correct horse")
    assert first.startswith("$argon2id$v=19$m=")
    assert "correct horse" not in first
    assert hash_password("correct horse") != first


def test_verify() -> None:
    stored = hash_password("correct horse")
    assert verify_password(stored, "correct horse") is True
    assert verify_password(stored, "correct horsE") is False
    assert verify_password(stored, "") is False
    assert verify_password(hash_password("ünïcode pass"), "ünïcode pass") is True


def test_unknown_user_and_broken_hash_return_false() -> None:
    assert verify_password(None, "anything") is False
    assert verify_password("", "anything") is False
    assert verify_password("not-a-hash", "anything") is False
    assert verify_password("$argon2id$v=19$m=65536,t=3,p=4$broken", "anything") is False


def test_generated_passwords() -> None:
    generated = {generate_password() for _ in range(50)}
    assert len(generated) == 50
    assert all(len(p) >= max(MIN_PASSWORD_LENGTH, 16) for p in generated)
    assert all(p.strip() == p for p in generated)
