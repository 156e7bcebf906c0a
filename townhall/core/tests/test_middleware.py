from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_nul_in_path_answers_404_like_any_missing_page(member_client):
    for path in ("/api/v1/topics/%00", "/topics/a%00b/", "/c/%00/"):
        response = member_client.get(path)
        assert response.status_code == 404, path
