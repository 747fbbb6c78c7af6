#!/usr/bin/env python3
"""Rows for bench/http/run.sh: a tickets CSV of N rows for Sluice, and the same rows as the
JSON bodies the curl and wrk peers send (one row; an array of B rows), shaped as Sluice's
http_sink sends them (ticket_id a number, the rest text).

    gen_rows.py N B OUT_DIR   → OUT_DIR/tickets_N.csv, OUT_DIR/row.json, OUT_DIR/batch_B.json
"""
import csv
import json
import random
import sys
from pathlib import Path

CHANNELS = ["phone", "web", "wechat", "email", "app"]
PRIORITIES = ["low", "normal", "high", "urgent"]
STATUSES = ["open", "pending", "solved", "closed"]
SUBJECTS = ["账户被冻结，请尽快处理", "Invoice wrong: amount 655.35", "退款未到账", "Delivery delayed for order",
            "Gift card 无法使用", "Charged twice for one order", "Question about warranty"]


def row(i: int, rnd: random.Random) -> dict:
    return {
        "ticket_id": 10_000_000 + i,
        "customer_id": f"C{rnd.randrange(1000, 99999)}",
        "created_at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+08:00",
        "channel": rnd.choice(CHANNELS),
        "priority": rnd.choice(PRIORITIES),
        "status": rnd.choice(STATUSES),
        "subject": f"{rnd.choice(SUBJECTS)} #{i}",
    }


def main() -> None:
    n, b, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(7)
    rows = [row(i, rnd) for i in range(max(n, b))]
    with open(out / f"tickets_{n}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows[:n])
    compact = {"ensure_ascii": False, "separators": (",", ":")}
    (out / "row.json").write_text(json.dumps(rows[0], **compact), encoding="utf-8")
    (out / f"batch_{b}.json").write_text(json.dumps(rows[:b], **compact), encoding="utf-8")


if __name__ == "__main__":
    main()
