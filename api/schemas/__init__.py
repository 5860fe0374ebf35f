"""What clients send and what they get back, one module per domain (shared/spec/api.md)."""
