"""Screens of the operator console: login, the desk, help and the desk's dialogs."""
