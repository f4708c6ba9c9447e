"""Realtime delivery: the bus between nodes and the per-node hub of client connections."""
