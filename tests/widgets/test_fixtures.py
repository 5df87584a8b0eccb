"""The browser fixtures themselves: a request still on its way when its page goes never fails a test."""

from __future__ import annotations

from .conftest import Watched, manifest_kind


class LeftBehind(Watched):
    """A watched page whose manifest responses are gone by the time they are handed over, as when
    the page navigates or closes while a preview's request is on its way."""

    def _fetch(self, route):
        response = super()._fetch(route)
        response.dispose()
        return response


def test_a_manifest_answered_after_its_page_went_is_no_error(site, context):
    watched = LeftBehind(context.new_page(), site.base)
    page = watched.page
    with page.expect_request(lambda r: manifest_kind(r.url) == "actes"):
        page.goto(site.widget("siren=212900997"), wait_until="commit")
    page.goto("about:blank")
    page.close()
    assert not watched.invalid_manifests
