"""URLs of care in the workbench (included by workbench/urls.py before the admin pages, so
``settings/care/`` is the care settings page)."""

from django.urls import path

from winback.web.workbench import views_care, views_settings_care

urlpatterns = [
    path("care/", views_care.care_plan, name="care_plan"),
    path("care/tasks/<int:care_task_id>/", views_care.care_task, name="care_task"),
    path("settings/care/", views_settings_care.settings_care, name="settings_care"),
]
