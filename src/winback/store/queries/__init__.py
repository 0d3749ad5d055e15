"""Read and write queries of the use cases, one module per area; frames in, frames out.

Each function runs its SQL on Django's connection (so it joins the caller's transaction) and
returns typed Polars frames or plain values; table names come from :mod:`winback.store.tables`.
"""
