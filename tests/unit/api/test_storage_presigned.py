"""Pre-signed object URLs (SigV4 query form, client-signed with an access key): they work until
they expire, are checked against the signer's permissions when used, and last at most 7 days."""

from __future__ import annotations

import json

from lakevault import identity
from tests.unit.api.conftest import World, error

READ_DATA = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-data/*"}
    ],
}


def _presign(world: World, path: str, key_id: str, secret: str, expires: int) -> str:
    request = identity.SigV4Request.from_target("GET", path, [("host", "testserver")], b"")
    signed = identity.sign_request(
        request,
        access_key_id=key_id,
        secret_access_key=secret,
        region="local",
        service="lakevault",
        now=world.clock.now(),
        form=identity.SignatureForm.QUERY,
        expires_seconds=expires,
    )
    return signed.request.target


def test_a_presigned_get_works_until_the_signer_loses_access_or_it_expires(
    world: World,
) -> None:
    account, admin, _ = world.new_tenant("presign")
    base = f"/api/v1/tenants/{account}"
    c = world.client
    assert c.post("/api/v1/buckets", json={"name": "shared-data"}, headers=admin).status_code == 201
    c.put("/api/v1/buckets/shared-data/objects/report.csv", content=b"a,b\n1,2\n", headers=admin)
    assert c.post(f"{base}/users", json={"userName": "reader"}, headers=admin).status_code == 201
    assert (
        c.put(
            f"{base}/users/reader/policies/read-data",
            json={"policyDocument": READ_DATA},
            headers=admin,
        ).status_code
        == 204
    )
    key = c.post(f"{base}/users/reader/access-keys", headers=admin).json()
    url = _presign(
        world,
        "/api/v1/buckets/shared-data/objects/report.csv",
        key["accessKeyId"],
        key["secretAccessKey"],
        expires=600,
    )
    assert "X-Amz-Signature=" in url
    got = c.get(url)
    assert got.status_code == 200, got.text
    assert got.content == b"a,b\n1,2\n"
    # The URL carries no permission of its own: another key of the object is not covered.
    other = c.get(url.replace("report.csv", "other.csv"))
    assert error(other)[0] == 403
    # Expired: refused.
    world.clock.advance(seconds=601)
    assert error(c.get(url)) == (403, "RequestExpired")
    # A fresh URL works again, until the signer loses the permission.
    fresh = _presign(
        world,
        "/api/v1/buckets/shared-data/objects/report.csv",
        key["accessKeyId"],
        key["secretAccessKey"],
        expires=600,
    )
    assert c.get(fresh).status_code == 200
    assert c.delete(f"{base}/users/reader/policies/read-data", headers=admin).status_code == 204
    denied = c.get(fresh)
    assert error(denied) == (403, "AccessDenied")
    assert b"a,b" not in denied.content
    events = json.dumps(world.platform.audit.read(account, limit=100000))
    assert key["secretAccessKey"] not in events


def test_a_presigned_url_may_not_last_more_than_seven_days(world: World) -> None:
    account, admin, _ = world.new_tenant("presign-long")
    key = world.client.post(
        f"/api/v1/tenants/{account}/users/admin/access-keys", headers=admin
    ).json()
    url = _presign(
        world, "/api/v1/buckets/x/objects/y", key["accessKeyId"], key["secretAccessKey"], 600
    )
    too_long = url.replace("X-Amz-Expires=600", "X-Amz-Expires=" + str(7 * 86400 + 1))
    refused = world.client.get(too_long)
    assert error(refused) == (400, "IncompleteSignature")
    assert "7 days" in refused.json()["error"]["message"]
