"""URL configuration. Layers add their own url modules when present."""

from __future__ import annotations

from pathlib import Path

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("winback.web.api.urls")),
]

if (Path(__file__).parent / "workbench" / "urls.py").exists():
    urlpatterns.append(path("", include("winback.web.workbench.urls")))
