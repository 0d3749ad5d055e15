"""URL configuration: the admin site, language switching, the JSON API and the workbench.

Errors (403, 404, 500 and a failed CSRF check) are answered by the project's own pages
(templates ``403.html``, ``404.html``, ``500.html``, ``403_csrf.html``) in the visitor's
language, each with a way back to the workbench.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from winback.web.workbench import views
from winback.web.workbench.forms import AdminSignInForm

admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("winback.web.api.urls")),
    path("", include("winback.web.workbench.urls")),
]
