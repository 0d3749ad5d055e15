"""URLs of the admin pages: imports, settings and reports (included by workbench/urls.py)."""

from django.urls import path

from winback.web.workbench import (
    views_imports,
    views_privacy,
    views_reports,
    views_settings,
    views_settings_questionnaires,
)

urlpatterns = [
    path(
        "customers/<int:customer_id>/erase/",
        views_privacy.customer_erase,
        name="customer_erase",
    ),
    path("imports/", views_imports.imports, name="imports"),
    path("imports/<str:token>/", views_imports.import_preview, name="import_preview"),
    path("imports/<str:token>/progress/", views_imports.import_progress, name="import_progress"),
    path(
        "imports/batches/<int:batch_id>/rejects/",
        views_imports.import_rejects,
        name="import_rejects",
    ),
    path("settings/", views_settings.settings_home, name="settings"),
    path("settings/profile/", views_settings.settings_profile, name="settings_profile"),
    path("settings/indicators/", views_settings.settings_indicators, name="settings_indicators"),
    path(
        "settings/questionnaires/",
        views_settings_questionnaires.settings_questionnaires,
        name="settings_questionnaires",
    ),
    path(
        "settings/questionnaires/edit/",
        views_settings_questionnaires.settings_questionnaire_edit,
        name="settings_questionnaire_edit",
    ),
    path("settings/users/", views_settings.settings_users, name="settings_users"),
    path(
        "settings/users/<int:user_id>/",
        views_settings.settings_user_edit,
        name="settings_user_edit",
    ),
    path(
        "settings/users/<int:user_id>/active/",
        views_settings.settings_user_active,
        name="settings_user_active",
    ),
    path("settings/<str:section>/", views_settings.settings_rules, name="settings_rules"),
    path("reports/", views_reports.reports, name="reports"),
    path("reports/<str:month>/", views_reports.report, name="report"),
    path("reports/<str:month>/refresh/", views_reports.report_refresh, name="report_refresh"),
    path(
        "reports/<str:month>/<str:lang>.<str:fmt>",
        views_reports.report_file,
        name="report_file",
    ),
]
