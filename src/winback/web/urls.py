"""URL configuration: the admin site, language switching, the JSON API and the workbench."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("winback.web.api.urls")),
    path("", include("winback.web.workbench.urls")),
]
