"""Supervisor pages: round wizard, round board, quality review."""

from django.urls import path

from winback.web.workbench import views_quality, views_rounds

urlpatterns = [
    path("rounds/", views_rounds.rounds, name="rounds"),
    path("rounds/new/", views_rounds.round_new, name="round_new"),
    path("rounds/<int:round_id>/", views_rounds.round_board, name="round_board"),
    path("quality/", views_quality.quality, name="quality"),
    path("quality/<int:attempt_id>/", views_quality.review, name="quality_review"),
]
