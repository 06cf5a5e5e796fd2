"""A rate-limiter module that fails while it is imported (a missing setting, say)."""

raise RuntimeError("REDIS_URL is not set")
