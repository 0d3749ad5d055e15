from django.contrib.auth import views as auth_views
from django.urls import include, path

from winback.web.workbench import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("language/", views.set_language, name="language"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:task_id>/", views.call, name="call"),
    path("customers/", views.customers, name="customers"),
    path("customers/<int:customer_id>/", views.customer, name="customer"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("warnings/", views.warnings, name="warnings"),
    path("", include("winback.web.workbench.urls_rounds")),
    path("", include("winback.web.workbench.views_export")),
    path("", include("winback.web.workbench.views_lists")),
    path("", include("winback.web.workbench.urls_care")),
    path("", include("winback.web.workbench.urls_admin")),
]
