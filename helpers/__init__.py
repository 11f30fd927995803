"""The teaching kit's helper library: one small module per idea.

Wire formats: chunked (HTTP/1.1 chunked coding), sse (Server-Sent Events),
rawhttp (a raw-socket server).
The local server: server, simulated_model, sim_requests, sim_events, model_source,
http_stream, response_shapes, real_model (optional), backends.
Measuring and showing: timing, widgets, charts.
Beyond the basics: guardrails, replay, replay_http, resume, ws_protocol, ws_server,
steering, cancel, demo.
Exercise checks: checks.lessonNN.

The README's "helper library" table says what each module is for.
"""
