"""Users: argon2 hashes, roles, clear errors that change nothing, JSON without the hash."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from store.db import Store
from store.models import User
from store.users import (
    UserError,
    add_user,
    authenticate,
    find_user,
    list_users,
    set_active,
    set_password,
    user_as_dict,
)

NOW = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # cheap parameters for tests


def add(store: Store, name: str = "alice", role: str = "operator", password: str = "s3cret!") -> None:
    with store.session() as s:
        add_user(s, name, role, password, NOW, display_name="Alice 王", hasher=FAST)


def test_add_list_authenticate(store: Store) -> None:
    add(store)
    add(store, "bob", "supervisor", "pw2")
    with store.session() as s:
        assert [u.username for u in list_users(s)] == ["alice", "bob"]
        alice = find_user(s, "alice")
        assert alice is not None and alice.password_hash.startswith("$argon2id$")
        assert "s3cret!" not in alice.password_hash
        assert authenticate(s, "alice", "s3cret!", hasher=FAST) is alice
        assert authenticate(s, "alice", "wrong", hasher=FAST) is None
        assert authenticate(s, "nobody", "s3cret!", hasher=FAST) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "match"),
    [
        ("carol", "boss", "pw", "unknown role 'boss'; choose one of operator, supervisor, trainer, admin"),
        ("carol", "operator", "", "password must not be empty"),
        ("", "operator", "pw", "user name"),
        ("has space", "operator", "pw", "user name"),
        ("alice", "admin", "other", "user 'alice' already exists"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    store: Store, name: str, role: str, password: str, match: str
) -> None:
    add(store)
    with store.read() as s:
        before = [(u.username, u.role, u.password_hash) for u in list_users(s)]
    with pytest.raises(UserError, match=match) as info, store.session() as s:
        add_user(s, name, role, password, NOW, hasher=FAST)
    assert "\n" not in str(info.value)
    with store.read() as s:
        assert [(u.username, u.role, u.password_hash) for u in list_users(s)] == before


def test_inactive_users_cannot_log_in(store: Store) -> None:
    add(store)
    with store.session() as s:
        set_active(s, "alice", False)
        assert authenticate(s, "alice", "s3cret!", hasher=FAST) is None
        assert [u.username for u in list_users(s, include_inactive=False)] == []
        with pytest.raises(UserError, match="no user 'zed'"):
            set_active(s, "zed", True)


def test_password_change_and_rehash(store: Store) -> None:
    add(store)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    with store.session() as s:
        old_hash = find_user(s, "alice").password_hash  # type: ignore[union-attr]
        assert authenticate(s, "alice", "s3cret!", hasher=stronger) is not None
        assert find_user(s, "alice").password_hash != old_hash  # type: ignore[union-attr]  # upgraded
        set_password(s, "alice", "new-pass", hasher=FAST)
        assert authenticate(s, "alice", "new-pass", hasher=FAST) is not None
        with pytest.raises(UserError, match="must not be empty"):
            set_password(s, "alice", "", hasher=FAST)


def test_user_as_dict_has_no_hash(store: Store) -> None:
    add(store)
    with store.read() as s:
        data = user_as_dict(list_users(s)[0])
        count = s.scalar(select(func.count()).select_from(User))
    assert count == 1
    assert set(data) == {"id", "username", "display_name", "role", "active", "created_at"}
    assert data["created_at"] == "2026-11-28T01:00:00+00:00" and data["display_name"] == "Alice 王"
    assert "argon2" not in json.dumps(data)
