"""Charter's tests: unit (no I/O), integration (API and storage), e2e (real server)."""
