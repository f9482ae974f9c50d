"""``lakevault login`` and ``logout``: a password sign-in that answers the server's challenges.

The server may answer a password with a challenge instead of tokens (docs/user-pool.md):

* ``SOFTWARE_TOKEN_MFA`` — the user has an authenticator: the CLI asks for its current code;
* ``MFA_SETUP`` — the pool or one of the user's groups requires MFA and the user has none yet:
  the CLI shows the new secret (and its ``otpauth://`` URI) on standard error and asks for the
  first code;
* ``NEW_PASSWORD_REQUIRED`` — an administrator created the user with a temporary password: the
  CLI asks for a new one (twice).

With ``--password-stdin`` every answer is read from standard input, one line each, in the
order asked, so scripts can sign in too. Codes and passwords are read without echo and never
printed; the secret of a new authenticator is printed once, for the user to enrol it.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from lakevault.cli._client import ApiClient, SavedSession, save_session, session_path
from lakevault.cli._common import command, error_console

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
#: More rounds than any real flow needs (new password, then MFA setup): a loop guard.
_MAX_CHALLENGES = 4


class _Answers:
    """Where the answers to prompts come from: the terminal, or standard input lines."""

    def __init__(self, *, from_stdin: bool, mfa_code: str | None) -> None:
        self._from_stdin = from_stdin
        self._mfa_code = mfa_code

    def secret(self, prompt: str, *, confirm: bool = False) -> str:
        if self._from_stdin:
            line = sys.stdin.readline()
            if not line:
                raise typer.BadParameter(
                    f"the server asks for the {prompt}, but standard input has no more lines"
                )
            return line.rstrip("\n")
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm))

    def mfa_code(self) -> str:
        if self._mfa_code is not None:
            code, self._mfa_code = self._mfa_code, None
            return code
        return self.secret("MFA code")


def answer_challenges(client: ApiClient, answer: dict[str, Any], answers: _Answers) -> Any:
    """Answer challenges until the server hands out tokens; return that answer."""
    for _ in range(_MAX_CHALLENGES):
        challenge = answer.get("challengeName")
        if challenge is None:
            return answer
        session = answer["session"]
        if challenge == "NEW_PASSWORD_REQUIRED":
            error_console.print("your password is temporary: choose a new one")
            body = {"session": session, "newPassword": answers.secret("new password", confirm=True)}
        elif challenge == "MFA_SETUP":
            enrolled = client.call("POST", "/sessions/mfa/associate", {"session": session})
            error_console.print(
                "MFA is required: add this secret to your authenticator app, then enter its "
                f"first code\n  secret  {enrolled['secretCode']}\n"
                f"  uri     {enrolled['otpauthUri']}",
                markup=False,
            )
            body = {"session": session, "mfaCode": answers.mfa_code()}
        elif challenge == "SOFTWARE_TOKEN_MFA":
            body = {"session": session, "mfaCode": answers.mfa_code()}
        else:
            raise typer.BadParameter(
                f"the server asks for {challenge}, which this CLI cannot answer"
            )
        answer = client.call("POST", "/sessions/challenge", body)
    raise typer.BadParameter("the server keeps asking for more challenges; sign in again")


@command
def login(
    account: str = typer.Option(..., "--account", help="12-digit account (tenant) id."),
    user: str = typer.Option(..., "--user", help="User name."),
    endpoint: str = typer.Option(DEFAULT_ENDPOINT, help="Where lakevault answers."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read the password (and any new password or MFA code asked for) from standard "
        "input, one per line (for scripts).",
    ),
    mfa_code: str | None = typer.Option(
        None, "--mfa-code", help="The current code of your authenticator, if you have one."
    ),
) -> None:
    """Sign in and save an access token for the following commands (file mode 0600).

    Answers the server's challenges: an MFA code, setting up MFA, or a new password.
    """
    answers = _Answers(from_stdin=password_stdin, mfa_code=mfa_code)
    password = answers.secret("password")
    client = ApiClient(endpoint)
    first = client.call(
        "POST",
        "/sessions",
        {"accountId": account, "userName": user, "password": password, "mfaCode": mfa_code},
    )
    answer = answer_challenges(client, first, answers)
    path = save_session(
        SavedSession(
            endpoint=endpoint,
            account_id=account,
            user_name=user,
            access_token=answer["accessToken"],
            expires_at=answer["expiresAt"],
        )
    )
    error_console.print(
        f"signed in as {account}/{user} until {answer['expiresAt']}; session in {path}"
    )


@command
def logout() -> None:
    """Forget the saved session."""
    session_path().unlink(missing_ok=True)
    error_console.print("signed out")
