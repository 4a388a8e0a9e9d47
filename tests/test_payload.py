"""Decoding and normalising deliveries (ingest.payload), without HTTP."""

from __future__ import annotations

import json
import unicodedata

import pytest
from conftest import FIXED_NOW_MS, local_ms, make_delivery

from ingest.errors import NotJson, UnreadableDelivery
from ingest.payload import (
    UNSPECIFIED,
    WebhookType,
    WorkingGroup,
    hhmm_to_minutes,
    is_unspecified,
    parse_delivery,
)


def parse(body: dict | bytes, webhook_type: str | None = "CHECKIN"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_delivery(raw, webhook_type, FIXED_NOW_MS)


def problem_fields(error: UnreadableDelivery) -> list[str]:
    return [problem.field for problem in error.problems]


def warning_fields(delivery) -> list[str]:
    return [warning.field for warning in delivery.warnings]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("CHECKIN", WebhookType.CHECKIN),
        ("checkin", WebhookType.CHECKIN),
        ("CheckIn", WebhookType.CHECKIN),
        (" JOIN_EVENT ", WebhookType.JOIN_EVENT),
        ("join_event", WebhookType.JOIN_EVENT),
    ],
)
def test_type_header_case_insensitive(header, expected):
    assert parse(make_delivery(), header).checkin.webhook_type is expected


@pytest.mark.parametrize("header", [None, "", "CHECKOUT", "JOIN"])
def test_type_header_unknown_rejected(header):
    with pytest.raises(UnreadableDelivery) as caught:
        parse(make_delivery(), header)

    assert problem_fields(caught.value) == ["X-WEBHOOK-TYPE"]
    assert "CHECKIN" in caught.value.message_en


def test_complete_delivery_normalised():
    delivery = parse(make_delivery(working_group={"begin": 800, "end": 1700}))
    checkin = delivery.checkin

    assert checkin.user_id == "u-001"
    assert checkin.workspace_id == "ws-demo"
    assert checkin.checkin_timestamp == local_ms(2026, 11, 2, 7, 55)
    assert checkin.name == "Nguyễn Thị Lan"
    assert checkin.office_location == "Hà Nội"
    assert checkin.working_group == WorkingGroup(480, 1020)
    assert checkin.extra == {}
    assert delivery.warnings == ()


@pytest.mark.parametrize("field", ["user_id", "workspace_id", "checkin_timestamp"])
def test_needed_field_missing_unreadable(field):
    body = make_delivery()
    del body[field]

    with pytest.raises(UnreadableDelivery) as caught:
        parse(body)

    assert problem_fields(caught.value) == [field]


@pytest.mark.parametrize("field", ["user_id", "workspace_id"])
def test_needed_id_unspecified_unreadable(field):
    with pytest.raises(UnreadableDelivery) as caught:
        parse(make_delivery(**{field: UNSPECIFIED}))

    assert problem_fields(caught.value) == [field]
    assert UNSPECIFIED in caught.value.message


@pytest.mark.parametrize("value", [["a"], {"id": 1}, True, "", "   ", 1.5])
def test_needed_id_wrong_type_unreadable(value):
    with pytest.raises(UnreadableDelivery) as caught:
        parse(make_delivery(user_id=value))

    assert problem_fields(caught.value) == ["user_id"]


@pytest.mark.parametrize("value", [1234, 1234.0, " 1234 "])
def test_numeric_id_kept_as_text(value):
    assert parse(make_delivery(user_id=value)).checkin.user_id == "1234"


def test_all_problems_listed_together():
    with pytest.raises(UnreadableDelivery) as caught:
        parse({"name": "x"}, "PING")

    assert problem_fields(caught.value) == ["X-WEBHOOK-TYPE", "user_id", "workspace_id", "checkin_timestamp"]


@pytest.mark.parametrize(
    "sent",
    [local_ms(2026, 11, 2, 7, 55), str(local_ms(2026, 11, 2, 7, 55)), float(local_ms(2026, 11, 2, 7, 55))],
    ids=["number", "numeric string", "integral float"],
)
def test_timestamp_forms_same_instant(sent):
    assert parse(make_delivery(checkin_timestamp=sent)).checkin.checkin_timestamp == local_ms(2026, 11, 2, 7, 55)


def test_timestamp_in_seconds_rejected():
    seconds = local_ms(2026, 11, 2, 7, 55) // 1000

    with pytest.raises(UnreadableDelivery) as caught:
        parse(make_delivery(checkin_timestamp=seconds))

    assert "seconds" in caught.value.message_en
    assert "giây" in caught.value.message


@pytest.mark.parametrize(
    ("sent", "phrase"),
    [
        (local_ms(2014, 12, 31, 23, 0), "before 2015"),
        (12345, "before 2015"),
        (FIXED_NOW_MS + 24 * 3600 * 1000 + 1, "more than a day after"),
        (10**30, "more than a day after"),
        ("soon", "whole number"),
        ("1.7e12", "whole number"),
        ([1], "whole number"),
        (UNSPECIFIED, "whole number"),
    ],
)
def test_timestamp_implausible_rejected(sent, phrase):
    with pytest.raises(UnreadableDelivery) as caught:
        parse(make_delivery(checkin_timestamp=sent))

    assert problem_fields(caught.value) == ["checkin_timestamp"]
    assert phrase in caught.value.message_en


def test_timestamp_just_within_a_day_accepted():
    latest = FIXED_NOW_MS + 24 * 3600 * 1000
    assert parse(make_delivery(checkin_timestamp=latest)).checkin.checkin_timestamp == latest


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ({"begin": 105, "end": 1700}, WorkingGroup(65, 1020)),
        ({"begin": 30, "end": 830}, WorkingGroup(30, 510)),
        ({"begin": 0, "end": 800}, WorkingGroup(0, 480)),
        ({"begin": 2200, "end": 600}, WorkingGroup(1320, 360)),
        ({"begin": "0830", "end": "1730"}, WorkingGroup(510, 1050)),
        ({"begin": 830.0, "end": 1730}, WorkingGroup(510, 1050)),
    ],
)
def test_working_group_split_arithmetically(group, expected):
    delivery = parse(make_delivery(working_group=group))

    assert delivery.checkin.working_group == expected
    assert delivery.warnings == ()


@pytest.mark.parametrize(
    "group",
    [
        {"begin": 1275, "end": 1700},
        {"begin": 800, "end": 2400},
        {"begin": "tám giờ", "end": 1700},
        {"begin": UNSPECIFIED, "end": 1700},
        {"begin": 800, "end": UNSPECIFIED},
        {"begin": 0, "end": 0},
        {"begin": 800, "end": 800},
        {"begin": -5, "end": 800},
        {"begin": True, "end": 800},
        {"begin": 800},
        UNSPECIFIED,
        "0800-1700",
        [800, 1700],
    ],
)
def test_working_group_not_a_shift_dropped(group):
    delivery = parse(make_delivery(working_group=group))

    assert delivery.checkin.working_group is None
    assert warning_fields(delivery) == ["working_group"]
    assert "kept" in delivery.warnings[0].message_en


def test_working_group_missing_or_null_no_warning():
    assert parse(make_delivery()).warnings == ()
    assert parse(make_delivery(working_group=None)).warnings == ()


@pytest.mark.parametrize(("value", "expected"), [(105, 65), (30, 30), (0, 0), (2359, 1439), (1275, None), (2400, None), (-1, None)])
def test_hhmm_to_minutes(value, expected):
    assert hhmm_to_minutes(value) == expected


@pytest.mark.parametrize("value", [UNSPECIFIED, None, "", ["x"], {"a": 1}, False])
@pytest.mark.parametrize("field", ["name", "email", "phone_number", "office_location", "sex", "avatar"])
def test_optional_field_unknown_stored_as_none_with_warning(field, value):
    delivery = parse(make_delivery(**{field: value}))

    assert getattr(delivery.checkin, field) is None
    assert warning_fields(delivery) == [field]


def test_unspecified_matched_in_any_form():
    assert is_unspecified("không xác định")
    assert is_unspecified(" KHÔNG XÁC ĐỊNH ")
    assert is_unspecified(unicodedata.normalize("NFD", UNSPECIFIED))
    assert not is_unspecified("Không")


def test_missing_fields_warned_only_when_sender_marks_required():
    body = {"user_id": "u-1", "workspace_id": "ws", "checkin_timestamp": local_ms(2026, 11, 2, 8)}

    delivery = parse(body)

    assert sorted(warning_fields(delivery)) == ["avatar", "name", "sex"]
    assert delivery.checkin.phone_number is None


def test_name_decomposed_stored_nfc():
    decomposed = unicodedata.normalize("NFD", "Trần Thị Ánh")
    assert decomposed != "Trần Thị Ánh"

    checkin = parse(make_delivery(name=decomposed)).checkin

    assert checkin.name == "Trần Thị Ánh"
    assert unicodedata.is_normalized("NFC", checkin.name)


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+84 Lan", "Lan\x0bAnh", "  Lan  "])
def test_name_kept_as_sent(name):
    assert parse(make_delivery(name=name)).checkin.name == name


def test_numeric_phone_kept_as_text():
    assert parse(make_delivery(phone_number=912345678)).checkin.phone_number == "912345678"


def test_unknown_fields_kept_nfc():
    decomposed = unicodedata.normalize("NFD", "Phòng Kế toán")
    checkin = parse(make_delivery(department=decomposed, score=[1, {"x": None}])).checkin

    assert checkin.extra == {"department": "Phòng Kế toán", "score": [1, {"x": None}]}


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000],
    ids=["empty", "truncated", "text", "array", "string", "invalid utf-8", "deep nesting"],
)
def test_body_not_json_object(body):
    with pytest.raises(NotJson) as caught:
        parse(body)

    assert caught.value.status_code == 400
    assert problem_fields(caught.value) == ["body"]


def test_body_with_utf8_bom_accepted():
    body = b"\xef\xbb\xbf" + json.dumps(make_delivery()).encode()
    assert parse(body).checkin.user_id == "u-001"


def test_deeply_nested_unknown_field_kept():
    nested = "[" * 900 + '"Ha\\u0300"' + "]" * 900
    body = json.dumps(make_delivery())[:-1] + f', "deep": {nested}}}'

    extra = parse(body.encode()).checkin.extra

    value = extra["deep"]
    for _ in range(900):
        value = value[0]
    assert value == "Hà"
