"""Widgets of the operator console (no store or line access: they render what services give them)."""
