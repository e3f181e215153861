"""Fixtures of the recall-status repository tests: each test runs on a private Redis and on a
real 3-master Redis Cluster."""

from tests.redis_fixtures import redis_cluster, redis_url

__all__ = ["redis_cluster", "redis_url"]
