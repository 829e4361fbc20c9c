"""Citizens who call: phone normalisation (E.164, region CN), masking, geography, and the Caller row.

Full numbers live in the store (the department needs them); everything shown or logged outside a
role that needs them goes through ``mask_phone``: ``13812345678`` -> ``138****5678``.
"""

from __future__ import annotations

import datetime as dt

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import Caller, Ticket

REGION = "CN"


class PhoneError(ValueError):
    """A phone number that cannot be a Chinese (or international) subscriber number."""


def normalise_phone(raw: str, region: str = REGION) -> str:
    """``raw`` as E.164 (``+8613812345678``); raises PhoneError with a readable line."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("phone number is empty")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"not a phone number: {mask_phone(text)}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"not a valid phone number: {mask_phone(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _national_digits(phone: str) -> str:
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(phone, REGION))
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in phone if ch.isdigit())


def mask_phone(phone: str | None) -> str | None:
    """``138****5678`` for a mobile (E.164 or national); short numbers keep only their last 2 digits."""
    if not phone:
        return phone
    digits = _national_digits(phone)
    if len(digits) >= 8:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return f"****{digits[-2:]}"
    return "****"


def place_of(number: str) -> str:
    """Where a mainland number is registered (``辽宁省鞍山市``), from phonenumbers' geocoder; "" if unknown."""
    from phonenumbers import geocoder  # its data takes ~0.4 s to load: only when a call rings

    try:
        parsed = phonenumbers.parse(number, REGION)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return geocoder.description_for_number(parsed, "zh") or ""


def caller_id_for(session: Session, phone: str, now: dt.datetime, name: str | None = None) -> int:
    """The id of the Caller with this (already normalised) phone, created if new.

    Safe under concurrency: two seats creating the same caller at once both get the one row.
    """
    found = session.execute(select(Caller.id, Caller.name).where(Caller.phone == phone)).first()
    if found is not None:
        if name and not found.name:
            session.execute(update(Caller).where(Caller.id == found.id).values(name=name))
        return int(found.id)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Caller).values(phone=phone, name=name, created_at=now)
    new_id = session.execute(
        stmt.on_conflict_do_nothing(index_elements=["phone"]).returning(Caller.id)
    ).scalar()
    if new_id is None:  # another seat inserted it between our select and insert
        new_id = session.execute(select(Caller.id).where(Caller.phone == phone)).scalar_one()
    return int(new_id)


def find_caller(session: Session, phone: str) -> Caller | None:
    return session.scalars(select(Caller).where(Caller.phone == normalise_phone(phone))).one_or_none()


def numbers_with_tickets(session: Session, limit: int = 40) -> list[str]:
    """Up to ``limit`` callers' numbers that have tickets, as national digits (``13812345678``)."""
    rows = session.scalars(
        select(Caller.phone).join(Ticket, Ticket.caller_id == Caller.id).distinct().limit(limit)
    ).all()
    return [p.removeprefix("+86") for p in rows if p]
