"""Keeping API keys out of logs, errors, cache rows and output files.

Every string that leaves a backend (error reasons above all: servers echo headers back) goes
through `redact` with the keys that backend knows.
"""

from __future__ import annotations

import os
import re

API_KEY_VARIABLES = ("FALCONER_API_KEY", "OPENAI_API_KEY")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}")
_SK_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}")


def api_key_from_environment() -> str | None:
    """The key to send: FALCONER_API_KEY first, then OPENAI_API_KEY; None when neither is set."""
    for name in API_KEY_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def redact(text: str, *secrets: str | None) -> str:
    """Replace known secrets and anything shaped like a bearer token or `sk-` key."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[REDACTED]")
    text = _BEARER.sub(r"\1[REDACTED]", text)
    return _SK_LIKE.sub("[REDACTED]", text)
