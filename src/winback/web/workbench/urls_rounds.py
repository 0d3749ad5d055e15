"""Supervisor pages: round wizard, round board, quality review."""

from django.urls import path

from winback.web.workbench import views_agents, views_quality, views_rounds

urlpatterns = [
    path("rounds/", views_rounds.rounds, name="rounds"),
    path("rounds/new/", views_rounds.round_new, name="round_new"),
    path("rounds/<int:round_id>/", views_rounds.round_board, name="round_board"),
    path(
        "rounds/<int:round_id>/agents/<int:agent_id>/",
        views_agents.round_agent,
        name="round_agent",
    ),
    path("rounds/<int:round_id>/close/", views_rounds.round_close, name="round_close"),
    path("rounds/<int:round_id>/reassign/", views_rounds.round_reassign, name="round_reassign"),
    path("agents/<int:user_id>/reassign/", views_rounds.agent_reassign, name="agent_reassign"),
    path("quality/", views_quality.quality, name="quality"),
    path("quality/scorecard/", views_quality.scorecard, name="quality_scorecard"),
    path("quality/<int:attempt_id>/", views_quality.review, name="quality_review"),
]
