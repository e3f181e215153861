"""Messages shared by every service (generated code under v1)."""
