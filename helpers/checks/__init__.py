"""Exercise checks, one module per lesson.

Each check returns a verdict the notebook prints and never raises.
"""
