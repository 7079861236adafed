"""The ``charter`` command line."""
