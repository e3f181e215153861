"""Temporary: the lifecycle rules move here from recall-status."""
from verinet.recall_status.lifecycle import *  # noqa: F403
from verinet.recall_status.lifecycle import Caller, Decision, LastDecommission, Operation, decide  # noqa: F401
