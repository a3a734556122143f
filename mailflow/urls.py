"""URL map of the whole site."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from conduit import views as conduit_views
from mailflow import views

admin.site.site_header = "mailflow administration"
admin.site.site_title = "mailflow"
admin.site.index_title = "Configure the help desk"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Delivery tracking (public: the customer's mail client asks for these).
    path("o/<str:token>.gif", conduit_views.track_open, name="track_open"),
    path("c/<str:token>", conduit_views.track_click, name="track_click"),
    path("", include("tickets.urls")),
]
