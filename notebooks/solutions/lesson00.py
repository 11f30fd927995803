"""Reference solutions for lesson 0's exercises (start here)."""

from __future__ import annotations


def visible_text_at(arrivals: list[tuple[float, str]], moment: float) -> str:
    """Everything that has arrived by `moment` (inclusive) is on screen."""
    return "".join(text for arrived, text in arrivals if arrived <= moment)


def which_backend(env: dict[str, str]) -> str:
    """KIT_BACKEND wins; then a base URL (any compatible server); then a key; else local.
    An empty variable counts as unset."""
    forced = env.get("KIT_BACKEND", "").strip().lower()
    if forced:
        return forced
    if env.get("OPENAI_BASE_URL"):
        return "compatible"
    if env.get("OPENAI_API_KEY"):
        return "openai"
    return "local"
