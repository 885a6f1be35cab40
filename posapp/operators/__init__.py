"""Operators and what they answer for: logins, roles, PINs (salted scrypt), manager
override, the audit log, cash movements (opening float, *sangria*, *suprimento*) and the
day-close summary. Stored in ``store.sqlite3``; no Qt here."""
