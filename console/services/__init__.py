"""Services of the console: what happens when the operator acts, with no knowledge of widgets.

They call telephony, taxonomy and store and never import Textual (tests/ui checks it).
"""
