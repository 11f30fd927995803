"""The teaching kit's helper library: one small module per idea.

- chunked: HTTP/1.1 chunked transfer coding (encode, sans-IO decode)
- sse: Server-Sent Events (format, sans-IO decode per the WHATWG spec)
"""
