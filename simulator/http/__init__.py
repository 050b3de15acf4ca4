"""Provider-compatible HTTP front ends and the control API."""
