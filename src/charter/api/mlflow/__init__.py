"""The MLflow-compatible API: another view over the same services and tables.

Served under ``/api/2.0/mlflow``, ``/ajax-api/2.0/mlflow`` and ``/api/2.0/mlflow-artifacts``
with MLflow's field names, types, defaults and error statuses, so the official ``mlflow``
client works unchanged. ``mount.include(app)`` wires the routers; ``paths`` and ``errors``
import no router, so the error handlers can use them without an import cycle.
"""
