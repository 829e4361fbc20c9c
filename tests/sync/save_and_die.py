"""Save one ticket (with its outbox row), then kill -9 this very process: nothing may be lost.

Usage: python save_and_die.py STORE_URL CLIENT_REQUEST_ID LEAF_CODE
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys

from store.db import open_store
from store.tickets import Actor, create_ticket, draft_from

url, client_id, leaf = sys.argv[1:4]
store = open_store(url, migrate=False)
with store.session() as session:
    draft = draft_from(
        {"nature": "投诉", "description": "保存后立即被杀", "leaf_code": leaf, "channel": "web"}
    )
    create_ticket(
        session, draft, Actor("killer", "operator"), dt.datetime.now(dt.UTC), client_request_id=client_id
    )
os.kill(os.getpid(), signal.SIGKILL)
