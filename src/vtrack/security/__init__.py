"""Passwords, tokens, roles, secret encryption, login throttling."""
