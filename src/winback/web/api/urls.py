from django.urls import path

from winback.web.api.api import api

urlpatterns = [path("", api.urls)]
