"""Per-area helpers that create test data through the real API."""
