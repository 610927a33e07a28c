"""The webhook channel: which targets may be called, how a call is signed, and the HTTP/1.1 client."""
