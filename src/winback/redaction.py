"""No raw phone number ever reaches a log line."""

from __future__ import annotations

import logging
import re

# Mainland mobile numbers (optionally +86) and long digit runs that look like phones.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")


def redact(text: str) -> str:
    return _PHONE.sub("[phone]", text)


class RedactPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True
