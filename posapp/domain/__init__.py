"""The pure domain: money, sales, documents, states and the cancel policy. No I/O."""
