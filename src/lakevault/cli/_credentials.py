"""Showing the administrator's one-time credentials: on the terminal, once, never logged."""

from __future__ import annotations

from rich.panel import Panel

from lakevault.cli._common import console
from lakevault.identity import BootstrapCredentials


def print_credentials(credentials: BootstrapCredentials) -> None:
    body = (
        f"account id  {credentials.account_id}\n"
        f"user name   {credentials.user_name}\n"
        f"password    {credentials.password}\n\n"
        "These credentials are shown ONCE: the password is\n"
        "stored only as a hash. Put it in your password manager now."
    )
    console.print(Panel(body, title="lakevault platform administrator", expand=False))
