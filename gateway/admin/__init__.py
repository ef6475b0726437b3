"""The reserved endpoints: healthz, readyz, metrics, and forward-auth over the gate's decision."""
