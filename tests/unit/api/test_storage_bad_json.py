"""Every storage route that reads a JSON body answers a bad one with 400 ``ValidationError``.

These routes read their bodies themselves (within the 6 MB JSON limit) rather than through
FastAPI's parameters; a body that was not JSON, or did not fit the route's model, used to
escape as pydantic's ``ValidationError`` and come back as ``500 InternalFailure`` without a
word on what was wrong. Each route here gets a body that is not JSON and one whose field has
the wrong type: the answer names the field, carries the request id, and nothing changes.
"""

from __future__ import annotations

import pytest

from lakevault.db import models
from tests.unit.api.conftest import World
from tests.unit.api.denial_world import rows

#: (method, path) of every route under test; {b} is an existing bucket, {u} an upload of it.
ROUTES = [
    ("POST", "/api/v1/buckets"),
    ("PUT", "/api/v1/buckets/{b}/tags"),
    ("PUT", "/api/v1/buckets/{b}/versioning"),
    ("PUT", "/api/v1/buckets/{b}/object-lock"),
    ("PUT", "/api/v1/buckets/{b}/retention/some-key"),
    ("PUT", "/api/v1/buckets/{b}/legal-hold/some-key"),
    ("POST", "/api/v1/buckets/{b}/uploads"),
    ("POST", "/api/v1/buckets/{b}/uploads/{u}/complete"),
    ("POST", "/api/v1/buckets/{b}/presign"),
    ("PUT", "/api/v1/buckets/{b}/limits"),
    ("PUT", "/api/v1/buckets/{b}/public-access-block"),
]
#: A field of each route's model sent with a type it cannot have.
WRONG_TYPE = {
    "/api/v1/buckets": {"name": ["not", "a", "name"]},
    "/tags": {"tags": "not-a-mapping"},
    "/versioning": {"status": {"nested": True}},
    "/object-lock": {"enabled": {"nested": True}},
    "/retention/some-key": {"mode": ["GOVERNANCE"]},
    "/legal-hold/some-key": {"status": ["ON"]},
    "/uploads": {"key": {"nested": True}},
    "/complete": {"parts": "not-a-list"},
    "/presign": {"method": ["GET"]},
    "/limits": {"maxUploadBytes": "lots"},
    "/public-access-block": {"blockPublicPolicy": {"nested": True}},
}


def _state(world: World) -> dict[str, list[str]]:
    """Every bucket's and upload's row: what a refused body must leave as it was."""
    return rows(world, (models.Bucket.__tablename__, models.MultipartUpload.__tablename__))


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_a_bad_json_body_is_a_400_naming_what_is_wrong(
    world: World, method: str, path: str
) -> None:
    _, admin, _ = world.new_tenant("bad-json")
    c = world.client
    assert c.post("/api/v1/buckets", json={"name": "bad-json"}, headers=admin).status_code == 201
    started = c.post("/api/v1/buckets/bad-json/uploads", json={"key": "big"}, headers=admin)
    assert started.status_code == 200, started.text
    url = path.format(b="bad-json", u=started.json()["uploadId"])
    wrong = next(body for suffix, body in WRONG_TYPE.items() if url.endswith(suffix))
    before = _state(world)
    for content in (b"{not json", repr(wrong).replace("'", '"').replace("True", "true").encode()):
        answer = c.request(
            method, url, content=content, headers={**admin, "content-type": "application/json"}
        )
        assert answer.status_code == 400, (content, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "ValidationError", answer.text
        assert error["message"].startswith("body"), error["message"]
        assert error["requestId"] and error["requestId"] == answer.headers["x-request-id"]
    assert _state(world) == before
