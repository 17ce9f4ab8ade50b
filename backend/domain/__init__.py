"""Pure domain: types, lifecycle transitions, call-next and queue order. No I/O here."""
