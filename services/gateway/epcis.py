"""EPCIS 2.0 capture (routes declared here)."""

from __future__ import annotations
