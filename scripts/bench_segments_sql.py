#!/usr/bin/env python3
"""Times segment counts in DuckDB and PostgreSQL on the customers exported by `cohort bench segments`.

Called by the benchmark itself; prints one JSON object on stdout:
{"duckdb": {"load_s": …, "queries": [{"median_ms": …, "count": …}, …]}, "postgres": {…} or {"error": "…"}}
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

COLUMNS = [
    ("customer_id", "TEXT"), ("name", "TEXT"), ("email", "TEXT"), ("phone", "TEXT"), ("city", "TEXT"),
    ("country", "TEXT"), ("tags_text", "TEXT"), ("total_spend", "BIGINT"), ("avg_order_value", "BIGINT"),
    ("order_count", "BIGINT"), ("visit_count", "BIGINT"), ("created_at", "BIGINT"), ("first_order_at", "BIGINT"),
    ("last_order_at", "BIGINT"), ("last_visit_at", "BIGINT"), ("last_seen_at", "BIGINT"),
]


def log(message):
    print(message, file=sys.stderr, flush=True)


def timed(run_query, queries, runs):
    results = []
    for sql in queries:
        for _ in range(3):
            run_query(sql)  # warm up
        samples = []
        count = None
        for _ in range(runs):
            started = time.perf_counter()
            count = run_query(sql)
            samples.append((time.perf_counter() - started) * 1000)
        results.append({"median_ms": statistics.median(samples), "count": count})
    return results


def bench_duckdb(csv_path, queries, runs):
    import duckdb

    connection = duckdb.connect()
    started = time.perf_counter()
    types = ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS)
    connection.execute(
        f"CREATE TABLE raw AS SELECT * FROM read_csv('{csv_path}', header=true, columns={{{types}}}, nullstr='')")
    connection.execute(
        "CREATE TABLE customers AS SELECT * EXCLUDE (tags_text), "
        "CASE WHEN tags_text IS NULL THEN []::VARCHAR[] ELSE string_split(tags_text, '|') END AS tags FROM raw")
    connection.execute("DROP TABLE raw")
    load = time.perf_counter() - started
    log(f"duckdb {duckdb.__version__}: loaded in {load:.1f} s")
    queries_result = timed(
        lambda sql: connection.execute(f"SELECT count(*) FROM customers WHERE {sql}").fetchone()[0], queries, runs)
    return {"version": duckdb.__version__, "load_s": load, "queries": queries_result}


def find_pg_bin():
    for version in ("17", "16", "15", "14", "13"):
        path = f"/usr/lib/postgresql/{version}/bin"
        if os.path.exists(os.path.join(path, "initdb")):
            return path
    return None


def bench_postgres(csv_path, queries, runs):
    import psycopg

    bin_dir = find_pg_bin()
    if bin_dir is None:
        return {"error": "PostgreSQL is not installed (apt install postgresql)"}
    work = tempfile.mkdtemp(prefix="cohort-pg-")
    data = os.path.join(work, "data")
    as_user = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run the server as the postgres user.
        shutil.chown(work, "postgres")
        os.chmod(csv_path, 0o644)
        os.chmod(os.path.dirname(csv_path), 0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = "54329"
    try:
        subprocess.run(as_user + [f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        subprocess.run(
            as_user + [f"{bin_dir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(work, "log"), "-o",
                       f"-k {work} -p {port} -c listen_addresses='' -c shared_buffers=1GB -c work_mem=256MB "
                       "-c max_parallel_workers_per_gather=2 -c jit=off", "start"],
            check=True, capture_output=True)
        with psycopg.connect(host=work, port=port, user="postgres", dbname="postgres", autocommit=True) as connection:
            version = connection.execute("SHOW server_version").fetchone()[0]
            started = time.perf_counter()
            definition = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
            connection.execute(f"CREATE UNLOGGED TABLE raw ({definition})")
            connection.execute(f"COPY raw FROM '{csv_path}' WITH (FORMAT csv, HEADER true, NULL '')")
            names = ", ".join(name for name, _ in COLUMNS if name != "tags_text")
            connection.execute(
                f"CREATE UNLOGGED TABLE customers AS SELECT {names}, "
                "COALESCE(string_to_array(tags_text, '|'), ARRAY[]::text[]) AS tags FROM raw")
            connection.execute("DROP TABLE raw")
            connection.execute("VACUUM ANALYZE customers")
            load = time.perf_counter() - started
            log(f"postgres {version}: loaded in {load:.1f} s")
            queries_result = timed(
                lambda sql: connection.execute(f"SELECT count(*) FROM customers WHERE {sql}").fetchone()[0],
                queries, runs)
            return {"version": version, "load_s": load, "queries": queries_result}
    except Exception as error:  # reported, not fatal: the DuckDB comparison still stands
        return {"error": str(error)}
    finally:
        subprocess.run(as_user + [f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", required=True)
    parser.add_argument("--queries", required=True, help="JSON file: {duckdb: [sql…], postgres: [sql…]}")
    parser.add_argument("--runs", type=int, default=21)
    arguments = parser.parse_args()
    with open(arguments.queries) as handle:
        queries = json.load(handle)
    result = {}
    try:
        result["duckdb"] = bench_duckdb(arguments.csv, queries["duckdb"], arguments.runs)
    except ImportError:
        result["duckdb"] = {"error": "the duckdb Python package is missing (pip install duckdb)"}
    try:
        result["postgres"] = bench_postgres(arguments.csv, queries["postgres"], arguments.runs)
    except ImportError:
        result["postgres"] = {"error": "the psycopg Python package is missing (pip install 'psycopg[binary]')"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
