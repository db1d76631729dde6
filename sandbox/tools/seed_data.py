#!/usr/bin/env python3
"""Seed a sandbox platform with a data set of the seeds' shape, so that reports, backups and
restores handle real volumes (tens of MB) rather than three documents.

  MongoDB, database opsbook_app (seed 001's EyewearML): users (face shape, preferences),
  frames (the catalogue: brand, style, price, dimensions, colours) and tryon_sessions (a user
  trying frames, with scores and timings).
  PostgreSQL, database opsbook_app (seed 004's e-commerce): products, orders and order_items;
  with --postgres-ai, database opsbook_ai on the AI server: recommendations.
  Redis: session:<id> hashes (seed 004's user sessions), with a week's TTL.

Generated from a fixed random seed, so every sandbox holds the same data; idempotent: each store
keeps a marker with the data set's version and is left alone when it matches. Passwords come on
standard input, one per line, in the order mongodb, postgres, redis (never on the command line).

  printf '%s\\n' "$MONGO_PW" "$PG_PW" "$REDIS_PW" | python3 sandbox/tools/seed_data.py \\
      --mongodb 127.0.0.1:37017 --postgres 127.0.0.1:35432 --redis 127.0.0.1:36379
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

VERSION = "2026-12-04.3"
SCALE = {"users": 5_000, "frames": 1_000, "sessions": 8_000, "products": 4_000, "orders": 20_000, "redis": 10_000}
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
WORDS = [
    *[
        "acetate",
        "titanium",
        "round",
        "square",
        "aviator",
        "cat-eye",
        "oval",
        "rectangle",
        "rimless",
        "browline",
        "matte",
        "gloss",
        "tortoise",
    ],
    *[
        "crystal",
        "blue",
        "gold",
        "silver",
        "black",
        "havana",
        "rose",
        "green",
        "amber",
        "slim",
        "wide",
        "bold",
        "classic",
        "modern",
        "vintage",
        "light",
    ],
]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def batches(items: Iterator[dict], size: int = 1000) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host, int(port)


# --- MongoDB (seed 001) -------------------------------------------------------------------------


def mongo_users(rng: random.Random) -> Iterator[dict]:
    shapes = ["oval", "round", "square", "heart", "diamond", "oblong"]
    for i in range(SCALE["users"]):
        yield {
            "_id": f"user-{i:06d}",
            "email": f"user{i}@eyewear.example",
            "name": f"User {i}",
            "face_shape": rng.choice(shapes),
            "created_at": EPOCH + timedelta(minutes=i),
            "preferences": {"styles": [rng.choice(WORDS) for _ in range(3)], "budget": rng.randint(50, 400)},
            "bio": words(rng, 25),
        }


def mongo_frames(rng: random.Random) -> Iterator[dict]:
    for i in range(SCALE["frames"]):
        yield {
            "_id": f"frame-{i:05d}",
            "brand": f"Brand {i % 60}",
            "style": rng.choice(WORDS),
            "price": round(rng.uniform(40, 450), 2),
            "dimensions": {"lens": rng.randint(45, 58), "bridge": rng.randint(14, 22), "temple": rng.randint(135, 150)},
            "colors": [rng.choice(WORDS) for _ in range(4)],
            "description": words(rng, 80),
            "model_url": f"https://cdn.eyewear.example/models/frame-{i:05d}.glb",
        }


def mongo_sessions(rng: random.Random) -> Iterator[dict]:
    for i in range(SCALE["sessions"]):
        started = EPOCH + timedelta(seconds=rng.randint(0, 30 * 86400))
        yield {
            "_id": f"tryon-{i:06d}",
            "user_id": f"user-{rng.randrange(SCALE['users']):06d}",
            "frames": [f"frame-{rng.randrange(SCALE['frames']):05d}" for _ in range(rng.randint(1, 6))],
            "started_at": started,
            "duration_ms": rng.randint(800, 90_000),
            "scores": [round(rng.random(), 3) for _ in range(8)],
            "device": rng.choice(["ios", "android", "web"]),
            "notes": words(rng, 20),
        }


def seed_mongodb(address: str, password: str) -> str:
    import pymongo

    host, port = host_port(address)
    client = pymongo.MongoClient(
        host=host, port=port, username="opsbook_admin", password=password, authSource="admin",
        directConnection=True, serverSelectionTimeoutMS=20000,
    )  # fmt: skip
    try:
        db = client["opsbook_app"]
        marker = db["_opsbook_seed"].find_one({"_id": "seed"})
        if marker and marker.get("version") == VERSION:
            return f"mongodb {address}: already seeded ({VERSION})"
        rng = random.Random(1)
        for name, generate in (("users", mongo_users), ("frames", mongo_frames), ("tryon_sessions", mongo_sessions)):
            db[name].drop()
            for batch in batches(generate(rng)):
                db[name].insert_many(batch, ordered=False)
        db["tryon_sessions"].create_index([("user_id", 1), ("started_at", -1)])
        db["users"].create_index("email", unique=True)
        db["_opsbook_seed"].replace_one({"_id": "seed"}, {"_id": "seed", "version": VERSION}, upsert=True)
        size = db.command("dbStats")["dataSize"] / 1e6
        return f"mongodb {address}: seeded {size:.1f} MB"
    finally:
        client.close()


# --- PostgreSQL (seed 004) ----------------------------------------------------------------------

SHOP_SCHEMA = """
CREATE TABLE IF NOT EXISTS _opsbook_seed (id text PRIMARY KEY, version text NOT NULL);
DROP TABLE IF EXISTS order_items, orders, products;
CREATE TABLE products (id integer PRIMARY KEY, sku text UNIQUE NOT NULL, name text NOT NULL,
  category text NOT NULL, price numeric(10,2) NOT NULL, stock integer NOT NULL, description text);
CREATE TABLE orders (id integer PRIMARY KEY, customer text NOT NULL, status text NOT NULL,
  created_at timestamptz NOT NULL, total numeric(12,2) NOT NULL, shipping_address text);
CREATE TABLE order_items (order_id integer REFERENCES orders(id), product_id integer REFERENCES products(id),
  quantity integer NOT NULL, price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, product_id));
CREATE INDEX orders_created_at ON orders (created_at);
"""


def shop_rows(rng: random.Random) -> tuple[list[tuple], list[tuple], list[tuple]]:
    categories = ["frames", "lenses", "sunglasses", "cases", "cleaning", "contacts"]
    products = [
        (i, f"SKU-{i:05d}", f"{words(rng, 2).title()} {i}", rng.choice(categories), round(rng.uniform(5, 500), 2),
         rng.randint(0, 900), words(rng, 30))
        for i in range(1, SCALE["products"] + 1)
    ]  # fmt: skip
    orders, items = [], []
    for i in range(1, SCALE["orders"] + 1):
        chosen = rng.sample(range(1, SCALE["products"] + 1), rng.randint(1, 4))
        lines = [(i, p, rng.randint(1, 3), products[p - 1][4]) for p in chosen]
        items += lines
        created = EPOCH + timedelta(seconds=rng.randint(0, 30 * 86400))
        total = round(sum(q * float(price) for _o, _p, q, price in lines), 2)
        status = rng.choice(["paid", "shipped", "delivered", "refunded"])
        orders.append((i, f"customer{rng.randrange(15000)}@shop.example", status, created, total, words(rng, 8)))
    return products, orders, items


def seed_postgres(address: str, password: str, database: str, ai: bool = False) -> str:
    import psycopg2
    from psycopg2.extras import execute_values

    host, port = host_port(address)
    conn = psycopg2.connect(
        host=host, port=port, user="postgres", password=password, dbname=database, connect_timeout=20
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS _opsbook_seed (id text PRIMARY KEY, version text NOT NULL)")
            cur.execute("SELECT version FROM _opsbook_seed WHERE id = 'seed'")
            row = cur.fetchone()
            if row and row[0] == VERSION:
                return f"postgres {address}/{database}: already seeded ({VERSION})"
            rng = random.Random(2)
            if ai:
                cur.execute("DROP TABLE IF EXISTS recommendations")
                cur.execute(
                    "CREATE TABLE recommendations (customer text, product_id integer, score real, model text, "
                    "computed_at timestamptz, features real[], PRIMARY KEY (customer, product_id))"
                )
                rows = {
                    (f"customer{rng.randrange(15000)}@shop.example", rng.randint(1, SCALE["products"])): None
                    for _ in range(20_000)
                }
                values = [(c, p, rng.random(), "recsys-v3", EPOCH, [rng.random() for _ in range(16)]) for c, p in rows]
                execute_values(cur, "INSERT INTO recommendations VALUES %s", values, page_size=2000)
            else:
                cur.execute(SHOP_SCHEMA)
                products, orders, items = shop_rows(rng)
                execute_values(cur, "INSERT INTO products VALUES %s", products, page_size=2000)
                execute_values(cur, "INSERT INTO orders VALUES %s", orders, page_size=2000)
                execute_values(cur, "INSERT INTO order_items VALUES %s", items, page_size=5000)
            cur.execute(
                "INSERT INTO _opsbook_seed VALUES ('seed', %s) "
                "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
                (VERSION,),
            )
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0] / 1e6
        return f"postgres {address}/{database}: seeded, database {size:.1f} MB"
    finally:
        conn.close()


# --- Redis (seed 004's sessions) ----------------------------------------------------------------


def seed_redis(address: str, password: str) -> str:
    import redis

    host, port = host_port(address)
    client = redis.Redis(host=host, port=port, username="opsbook_admin", password=password, socket_timeout=20)
    try:
        if client.get("opsbook:seed") == VERSION.encode():
            return f"redis {address}: already seeded ({VERSION})"
        rng = random.Random(3)
        pipe = client.pipeline(transaction=False)
        for i in range(SCALE["redis"]):
            key = f"session:{i:06d}"
            pipe.hset(
                key,
                mapping={
                    "customer": f"customer{rng.randrange(15000)}@shop.example",
                    "cart": ",".join(str(rng.randint(1, SCALE["products"])) for _ in range(rng.randint(0, 5))),
                    "last_seen": int(time.time()) - rng.randint(0, 86400),
                    "csrf": f"{rng.getrandbits(128):032x}",
                },
            )
            pipe.expire(key, 7 * 86400)
            if i % 1000 == 999:
                pipe.execute()
        pipe.set("opsbook:seed", VERSION)
        pipe.execute()
        return f"redis {address}: seeded {SCALE['redis']} sessions"
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mongodb", help="host:port of the MongoDB-compatible server")
    parser.add_argument("--postgres", help="host:port of the main PostgreSQL server (database opsbook_app)")
    parser.add_argument("--postgres-ai", help="host:port of the AI PostgreSQL server (database opsbook_ai)")
    parser.add_argument("--redis", help="host:port of Redis")
    args = parser.parse_args()
    mongo_pw, pg_pw, redis_pw = [*sys.stdin.read().splitlines(), "", "", ""][:3]
    if args.mongodb:
        print(seed_mongodb(args.mongodb, mongo_pw), flush=True)
    if args.postgres:
        print(seed_postgres(args.postgres, pg_pw, "opsbook_app"), flush=True)
    if args.postgres_ai:
        print(seed_postgres(args.postgres_ai, pg_pw, "opsbook_ai", ai=True), flush=True)
    if args.redis:
        print(seed_redis(args.redis, redis_pw), flush=True)


if __name__ == "__main__":
    main()
