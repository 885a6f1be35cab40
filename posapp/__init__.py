"""posapp: a desktop point-of-sale that issues the Brazilian NFC-e (modelo 65)."""

__version__ = "0.1.0"
