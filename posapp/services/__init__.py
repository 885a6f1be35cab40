"""Use cases: issue, cancel, reprint, drain the queue, reconcile, list. No Qt here."""
