"""Winback: win back lapsed customers and catch the ones about to leave."""

import os as _os

__version__ = "0.1.0"

# Polars sizes its thread pool once, when it is first imported: WINBACK_THREADS reaches it only
# if passed on before any module imports Polars (an explicit POLARS_MAX_THREADS wins).
if _os.environ.get("WINBACK_THREADS", "").strip().isdigit():
    _os.environ.setdefault("POLARS_MAX_THREADS", _os.environ["WINBACK_THREADS"].strip())
