"""verinet: a verification router network for pharmaceutical packs (DSCSA LMS, EU FMD)."""

__version__ = "0.1.0"
