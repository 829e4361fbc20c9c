"""The reference city backend: an Open311 GeoReport v2 server (plus our extensions) on Starlette.

It stands apart from the store (its own tables) and imports only the taxonomy, for the service list.
"""
