"""Recovery benchmark: 10,000 portfolios from snapshots plus journaled fills."""
