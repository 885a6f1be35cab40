"""Helpers shared by the end-to-end tests: simulators in threads, answer traps, the issuer
bundle and its request-log oracle, and the crash worker the kill -9 test runs."""
