from django.urls import include, path

from townhall.api.api import api

urlpatterns = [
    path("", include("townhall.core.urls")),
    path("", include("townhall.feed.urls")),
    path("posts/", include("townhall.feed.urls_posts")),
    path("", include("townhall.accounts.urls")),
    path("", include("townhall.communities.urls")),
    path("people/", include("townhall.directory.urls")),
    path("manage/import/", include("townhall.directory.urls_import")),
    path("search/", include("townhall.search.urls")),
    path("notifications/", include("townhall.notifications.urls")),
    path("events/", include("townhall.realtime.urls")),
    path("api/v1/", api.urls),
]

handler400 = "townhall.core.views.bad_request"
handler403 = "townhall.core.views.forbidden"
handler404 = "townhall.core.views.not_found"
handler500 = "townhall.core.views.server_error"
