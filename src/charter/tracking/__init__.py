"""Experiments, runs and logged models that the MLflow surface needs, and its artifact namespace."""
