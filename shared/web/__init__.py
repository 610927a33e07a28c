"""The HTTP side every service shares: app factory, health routes, middlewares, error mapping."""
