"""Charter: an open-source model registry with governance built in."""
