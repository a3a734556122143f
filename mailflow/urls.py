"""URL map of the whole site."""

from django.contrib import admin
from django.urls import path

from mailflow import views

admin.site.site_header = "mailflow administration"
admin.site.site_title = "mailflow"
admin.site.index_title = "Configure the help desk"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
