"""Exercise checks, one module per lesson: each returns a verdict the notebook prints, never raises."""
