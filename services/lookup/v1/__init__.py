"""Generated protocol buffer code; do not edit."""
