"""The HTTP face of Charter: the native ``/api/v1`` API and (later) the MLflow adapter."""
