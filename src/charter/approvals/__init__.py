"""Approvals: promotion requests gated by declarative, versioned policies, and the protected
aliases and stages that can move only through them."""
