#!/usr/bin/env python3
"""Runs the store's ClickHouse DDL and its id-lookup queries on a *current* ClickHouse.

Tests and CI run Debian's ClickHouse 18.16; production runs a current release. This script
proves the same statements also work there, using chDB (ClickHouse embedded in Python):

    python3 -m venv /tmp/chdb && /tmp/chdb/bin/pip install chdb
    /tmp/chdb/bin/python deploy/clickhouse/check_modern_clickhouse.py

The DDL is read from store/src/clickhouse_store/mod.rs (the `const CREATE_*: &str` items), so
there is one copy of it. Exits non-zero on the first failing statement or wrong answer.
Last run: chDB 4.x (ClickHouse 26.9.2), all checks passed.
"""
import pathlib
import re
import sys

from chdb import session

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = (ROOT / "store/src/clickhouse_store/mod.rs").read_text()
DDL = dict(re.findall(r'const (CREATE_\w+): &str = "(.*?)";', SOURCE, re.S))


def check(label, actual, expected):
    actual = str(actual).strip().strip('"')
    if actual != expected:
        sys.exit(f"FAIL {label}: expected {expected!r}, got {actual!r}")
    print(f"ok   {label}")


def main():
    db = session.Session()
    print("ClickHouse", str(db.query("SELECT version()")).strip())
    db.query("CREATE DATABASE IF NOT EXISTS shopwatch")
    db.query("USE shopwatch")
    for name in ("CREATE_MIGRATIONS_TABLE", "CREATE_EVENTS", "CREATE_REVIEWS"):
        db.query(DDL[name])
        db.query(DDL[name])  # idempotent
        print(f"ok   {name} (twice)")
    db.query(
        "INSERT INTO schema_migrations (version, description, applied_at) "
        "VALUES (1, 'events and reviews', now())"
    )
    check("schema version", db.query("SELECT toUInt32(max(version)) FROM schema_migrations"), "1")
    db.query(
        "INSERT INTO events (event_id, source_event_id, event_type, platform, shop_id, kind, "
        "entity_id, occurred_at_ms, observed_at_ms, enriched_at_ms, entity_json, analysis_json) "
        "VALUES ('e1', 's', 'review.received', 'taobao', '123', 'review', '1001-1', "
        "1767240000000, 1, 2, '{}', '')"
    )
    db.query(
        "INSERT INTO reviews (event_id, platform, shop_id, order_id, sub_order_id, item_id, "
        "item_title, item_price_fen, buyer_nick_masked, rating, score, content, reply, "
        "created_at_ms, follow_up, tokens, keyword_words, keyword_categories, aspect_names, "
        "aspect_polarities, sentiment, polarity, lang, enriched_at_ms) VALUES ('e1', 'taobao', "
        "'123', '1001', '', '', '', NULL, 'x**', 'bad', NULL, 'c', '', 1767240000000, 0, ['a'], "
        "[], [], [], [], NULL, NULL, 'zh', 2)"
    )
    check(
        "events lookup by sorting key",
        db.query(
            "SELECT event_id FROM events WHERE (platform, shop_id, kind, entity_id, event_id) IN "
            "(('taobao', '123', 'review', '1001-1', 'e1'), ('x', 'y', 'z', 'w', 'v'))"
        ),
        "e1",
    )
    check(
        "reviews lookup by sorting key",
        db.query(
            "SELECT event_id FROM reviews WHERE (platform, shop_id, created_at, event_id) IN "
            "(('taobao', '123', toDateTime(intDiv(1767240000000, 1000)), 'e1'))"
        ),
        "e1",
    )
    check("materialized created_at", db.query("SELECT toUInt32(created_at) FROM reviews"), "1767240000")
    check("materialized occurred_at", db.query("SELECT toUInt32(occurred_at) FROM events"), "1767240000")
    print("all checks passed")


if __name__ == "__main__":
    main()
