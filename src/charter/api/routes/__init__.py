"""Routes of the native ``/api/v1`` API, one module per area."""
