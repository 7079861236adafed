"""Registered models, their versions, stages, aliases and the history of both."""
