"""Accounts, roles and authentication (local passwords now; eGov / OpenID Connect behind the same interface)."""
