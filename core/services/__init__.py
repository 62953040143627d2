"""Services: the one place for policy (sessions, look-ups, error classification, field-level input errors); CLI commands, Dramatiq actors and Flask views call only these."""
