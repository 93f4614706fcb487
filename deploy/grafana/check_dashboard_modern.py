#!/usr/bin/env python3
"""Runs every ClickHouse panel query of dashboards/shopwatch.json on a *current* ClickHouse.

tests/it/deploy.rs runs the same queries on Debian's ClickHouse 18.16 (what CI has); this
script proves they also run on a current release, using chDB (ClickHouse embedded in Python):

    python3 -m venv /tmp/chdb && /tmp/chdb/bin/pip install chdb
    /tmp/chdb/bin/python deploy/grafana/check_dashboard_modern.py

The tables come from the store's DDL (store/src/clickhouse_store/mod.rs, the
`const CREATE_*: &str` items); Grafana's macros are replaced the way the ClickHouse data
source plugin expands them. Exits non-zero on the first failing or empty query.
Last run: chDB 4.x, all panels passed.
"""
import json
import pathlib
import re
import sys

from chdb import session

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = (ROOT / "store/src/clickhouse_store/mod.rs").read_text()
DDL = dict(re.findall(r'const (CREATE_\w+): &str = "(.*?)";', SOURCE, re.S))
DASHBOARD = json.loads((ROOT / "deploy/grafana/dashboards/shopwatch.json").read_text())

# The sample review of schemas::samples: 2026-01-01 12:00 GMT+8, bad, keyword 破损.
CREATED_MS = 1_767_240_000_000
FROM_S, TO_S, INTERVAL_S = CREATED_MS // 1000 - 86_400, CREATED_MS // 1000 + 86_400, 60


def expand_macros(sql):
    """Grafana ClickHouse plugin macros, expanded as pkg/macros/macros.go does."""
    sql = re.sub(
        r"\$__timeFilter\(([^)]*)\)",
        lambda m: f"{m[1]} >= toDateTime({FROM_S}) AND {m[1]} <= toDateTime({TO_S})",
        sql,
    )
    sql = sql.replace("$__interval_s", str(INTERVAL_S))
    sql = sql.replace("$__fromTime", f"toDateTime({FROM_S})").replace("$__toTime", f"toDateTime({TO_S})")
    if "$__" in sql:
        sys.exit(f"FAIL unknown macro left in: {sql}")
    return sql


def clickhouse_queries():
    for panel in DASHBOARD["panels"]:
        for target in panel.get("targets", []):
            datasource = target.get("datasource") or panel.get("datasource") or {}
            if datasource.get("type") == "grafana-clickhouse-datasource":
                yield panel["title"], target["rawSql"]


def main():
    db = session.Session()
    print("ClickHouse", str(db.query("SELECT version()")).strip())
    db.query("CREATE DATABASE IF NOT EXISTS shopwatch")
    db.query("USE shopwatch")
    for name in ("CREATE_EVENTS", "CREATE_REVIEWS"):
        db.query(DDL[name])
    db.query(
        "INSERT INTO reviews (event_id, platform, shop_id, order_id, sub_order_id, item_id, "
        "item_title, item_price_fen, buyer_nick_masked, rating, score, content, reply, "
        "created_at_ms, follow_up, tokens, keyword_words, keyword_categories, aspect_names, "
        "aspect_polarities, sentiment, polarity, lang, enriched_at_ms) VALUES "
        f"('e1', 'taobao', '123', '1001', '1001-1', '556677', '保温杯 500ml', 12850, '张**', "
        f"'bad', NULL, '快递太慢了，包装破损', '亲，非常抱歉', {CREATED_MS}, 0, "
        "['快递','太慢','包装','破损'], ['破损'], ['default'], ['packaging'], ['negative'], "
        f"NULL, NULL, 'zh', {CREATED_MS + 2000})"
    )
    count = 0
    for title, sql in clickhouse_queries():
        try:
            result = db.query(expand_macros(sql), "CSV")
        except Exception as error:  # chDB raises its own exception types
            sys.exit(f"FAIL {title}: {error}")
        rows = [line for line in str(result).splitlines() if line.strip()]
        if not rows:
            sys.exit(f"FAIL {title}: no rows")
        print(f"ok   {title}: {rows[0]}")
        count += 1
    if count == 0:
        sys.exit("FAIL no ClickHouse panel found")
    print(f"all {count} ClickHouse panel queries ran")


if __name__ == "__main__":
    main()
