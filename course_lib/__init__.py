"""Multi-objective recommendation, hands-on: the course helpers."""
