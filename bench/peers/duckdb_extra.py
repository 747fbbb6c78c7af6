"""DuckDB doing the issue-2 workloads Sluice is compared on: CSV pass-through and the W1 filter.

    duckdb_extra.py passthrough|passthrough_varchar|filter INPUT OUTPUT
"""
import sys

import duckdb

job, src, dst = sys.argv[1:4]
if job == "passthrough":
    sql = f"COPY (SELECT * FROM read_csv('{src}')) TO '{dst}'"
elif job == "passthrough_varchar":
    sql = f"COPY (SELECT * FROM read_csv('{src}', all_varchar=true)) TO '{dst}'"
elif job == "filter":
    sql = (f"COPY (SELECT * FROM read_csv('{src}') WHERE priority IN ('high', 'urgent') "
           f"OR satisfaction <= 2) TO '{dst}'")
else:
    sys.exit(f"unknown job {job}")
duckdb.sql(sql)
