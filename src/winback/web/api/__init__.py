"""The JSON API of the workbench (django-ninja, OpenAPI at ``/api/openapi.json``)."""
