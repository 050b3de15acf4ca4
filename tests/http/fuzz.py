"""Hostile requests for the provider front ends: random JSON and bytes on random paths, methods and auth."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx


def random_json(rng: random.Random, keys: list[str], depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False, 0, -1, 10**30, 1.5, float("1e308")])
    if kind == 2:
        return "".join(rng.choice("ab+0123456789 \u00e9\u0416\U0001F600{}\x00") for _ in range(rng.randrange(30)))
    if kind == 3:
        return rng.choice(["", "whatsapp", "text", "RESPONSE", "+447700900001", "447700900001"])
    if kind == 4:
        return rng.randrange(-5, 10**6)
    if kind in (5, 6):
        return {rng.choice(keys + ["x", ""]): random_json(rng, keys, depth + 1) for _ in range(rng.randrange(5))}
    return [random_json(rng, keys, depth + 1) for _ in range(rng.randrange(4))]


def fuzz(api: httpx.Client, *, paths: list[str], keys: list[str], auth: list[dict[str, str]], rounds: int = 250,
         seed: int = 20240601) -> None:
    """Every answer is below 500 and a JSON body in the provider's own shape."""
    rng = random.Random(seed)
    for _ in range(rounds):
        path = rng.choice(paths) + rng.choice(["", "", "/x", "?limit=abc", "/../..", "%00"])
        if rng.random() < 0.3:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        else:
            body = json.dumps(random_json(rng, keys)).encode()
        headers = rng.choice(auth) | {"content-type": rng.choice(["application/json", "text/plain", ""])}
        response = api.request(rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"]), path, content=body,
                               headers=headers)
        assert response.status_code < 500, (path, body, response.text)
        response.json()
