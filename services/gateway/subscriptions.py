"""Webhook subscriptions and delivery logs (routes declared here)."""

from __future__ import annotations
