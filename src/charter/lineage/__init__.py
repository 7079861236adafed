"""Lineage: what each model version was made from, and what was made from what.

A version's lineage is a set of typed edges to shared entities (datasets, code commits,
features, runs, logged models, external models) or to parent versions, plus key/values
(hyperparameters, environment, run parameters and metrics). Entities are shared, so "which
versions used dataset X" is an index lookup, and parent edges form a graph that impact
queries walk with a recursive CTE. A READY version's lineage is append-only.
"""
