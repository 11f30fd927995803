"""The teaching kit's helper library, in two rooms.

The lesson helpers, one small module per idea, imported and read by the lessons:
wire formats: chunked (HTTP/1.1 chunked coding), sse (Server-Sent Events), rawhttp (a
raw-socket server); measuring and showing: timing, widgets, charts; beyond the basics:
guardrails, resume; backends (get_backend(): the local server, the real API or any
compatible server); exercise checks: checks.lessonNN.

The local server, helpers.server, in four layers (model -> dialects -> transport -> app; see
helpers/server/__init__.py). The lesson helpers reach it only through backends (an
import-linter contract in pyproject.toml).

The README's "helper library" table says what each module is for.
"""
