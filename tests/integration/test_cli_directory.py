"""The management commands against a real server: login, tenants, users, policies."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

from tests.integration.conftest import run

READ_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}],
    }
)


def test_an_operator_and_a_tenant_admin_work_from_the_command_line(
    tmp_path: Path, start_server: object
) -> None:
    home, config = tmp_path / "home", tmp_path / "config"
    server, _ = start_server(home, "--init", XDG_CONFIG_HOME=str(config))  # type: ignore[operator]
    out, _ = server.process.stdout.readline, None
    del out
    # The first start printed the administrator's password on stdout; read it from the panel.
    password = None
    for _ in range(12):
        line = server.process.stdout.readline()
        found = re.search(r"password {2,}(\S+)", line)
        if found:
            password = found.group(1)
            break
    assert password is not None

    def cli(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        result = run(list(args), home, tmp_path, stdin=stdin, XDG_CONFIG_HOME=str(config))
        return result.returncode, result.stdout, result.stderr

    code, _, err = cli(
        "login",
        "--account",
        "000000000000",
        "--user",
        "admin",
        "--endpoint",
        server.url,
        "--password-stdin",
        stdin=password + "\n",
    )
    assert code == 0, err
    session_file = config / "lakevault" / "session.json"
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600

    code, out, err = cli("tenants", "create", "science")
    assert code == 0, err
    created = json.loads(out)
    account, tenant_password = created["tenant"]["accountId"], created["adminPassword"]

    code, _, err = cli(
        "login",
        "--account",
        account,
        "--user",
        "admin",
        "--endpoint",
        server.url,
        "--password-stdin",
        stdin=tenant_password + "\n",
    )
    assert code == 0, err
    assert cli("iam", "users", "create", "carol")[0] == 0
    code, out, err = cli("iam", "policies", "create", "ReadAll", "--document", READ_ALL)
    assert code == 0, err
    policy_arn = json.loads(out)["arn"]
    assert cli("iam", "attach-policy", policy_arn, "--user", "carol")[0] == 0
    code, out, _ = cli("iam", "users", "list")
    assert [u["userName"] for u in json.loads(out)] == ["admin", "carol"]

    # Denials come back as the server's code, with exit code 1.
    code, _, err = cli("iam", "users", "list", "--account", "000000000000")
    assert code == 1
    assert "AccessDenied" in err

    code, _, err = cli(
        "login",
        "--account",
        account,
        "--user",
        "admin",
        "--endpoint",
        server.url,
        "--password-stdin",
        stdin="Wrong-passw0rd\n",
    )
    assert code == 1 and "AccessDenied" in err
    assert tenant_password not in err

    assert cli("logout")[0] == 0
    code, _, err = cli("iam", "users", "list")
    assert code == 3 and "lakevault login" in err
