"""store.callers: how a citizen's number is masked (area codes kept, service numbers plain) and
which roles see it in full."""

from __future__ import annotations

import pytest

from store.callers import FULL_NUMBER_ROLES, mask_phone, phone_for, sees_full_number
from store.lifecycle import HOTLINE, PEOPLE_ROLES


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        # mobiles: carrier prefix and the last 4 digits, whatever the notation
        ("13812345678", "138****5678"),
        ("+8613812345678", "138****5678"),
        ("0086-13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("18830573909", "188****3909"),
        # fixed lines keep the area code with its 0 (4 digits for 0xxx, 3 for 010 and 02x)
        ("04126911877", "0412-****877"),  # the walkthrough's Anshan number (was 412****1877)
        ("0412-6911877", "0412-****877"),
        ("+864126911877", "0412-****877"),
        ("(0412)55512345", "0412-*****345"),  # 8-digit local number
        ("01012345678", "010-*****678"),
        ("+861012345678", "010-*****678"),
        ("02087654321", "020-*****321"),
        ("0245551234", "024-****234"),  # 02x with a 7-digit local number
        ("6911877", "****877"),  # a local number dialled without its area code
        # nobody's private number: as it is
        ("110", "110"),
        ("119", "119"),
        ("12345", "12345"),
        ("95588", "95588"),
        ("1001", "1001"),  # an extension
        ("4001234567", "4001234567"),  # an enterprise line
        # abroad: the country code stays
        ("+12025550123", "+1 202****0123"),
        # nothing that is a number
        ("anonymous", "****"),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_mask_phone_keeps_empty_values() -> None:
    assert mask_phone(None) is None and mask_phone("") == ""


def test_masked_numbers_never_show_the_hidden_digits() -> None:
    # the masked part of a landline is exactly what a reader must not get back
    masked = mask_phone("04126911877") or ""
    assert "6911" not in masked and masked.endswith("877") and masked.startswith("0412")


def test_full_numbers_for_the_roles_that_phone_citizens() -> None:
    assert FULL_NUMBER_ROLES == HOTLINE  # operator, supervisor, admin: the people who call citizens
    assert set(FULL_NUMBER_ROLES) <= set(PEOPLE_ROLES)
    for role in ("operator", "supervisor", "admin"):
        assert sees_full_number(role)
        assert phone_for(role, "04126911877") == "04126911877"
        assert phone_for(role, "+8613812345678") == "+8613812345678"
    for role in ("trainer", "department", "backend", "system", "", "Operator"):
        assert not sees_full_number(role)  # unknown or misspelt roles fail closed
        assert phone_for(role, "04126911877") == "0412-****877"
        assert phone_for(role, "13812345678") == "138****5678"
    assert phone_for("trainer", None) is None and phone_for("operator", None) is None
