"""Layer model (the bottom): what text comes next, and when.

simulated (the deterministic stand-in model), source (the seam: SimRequest, Generation, the
ModelSource protocol, RequestError), tokens (an answer's tokens on their schedule, with the
injected stream faults), real (optional: SmolLM2 through llama.cpp), steering (how the
simulated model reacts to a steer). Imports nothing from the layers above.
"""
