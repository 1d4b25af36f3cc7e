"""Pages through TestClient: the directory in kk/ru/en, the language switch, login, CSRF and logout."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from emhana.accounts.roles import Role
from emhana.accounts.service import Actor
from emhana.pages.home import router as pages_router
from emhana.web.deps import SESSION_COOKIE, declared_roles
from emhana.web.render import CSRF_COOKIE, install_error_pages
from tests.builders.web import csrf_of, login

HTML = {"Accept": "text/html,application/xhtml+xml"}
NAME_RU = 'ГКП на ПХВ "Городская поликлиника №3" акимата города Астана'
NAME_KK = 'Астана қаласы әкімдігінің "№3 қалалық емхана" ШЖҚ МКК'


def test_every_page_route_declares_who_it_admits() -> None:
    assert pages_router.routes
    for route in pages_router.routes:
        assert isinstance(route, APIRoute)
        assert declared_roles(route.dependant.dependencies) is not None, route.path
        assert route.include_in_schema is False


def test_home_says_what_emhana_is_and_links_the_ways_in(client: TestClient) -> None:
    r = client.get("/", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in r.text
    for link in ('href="/facilities"', 'href="/docs"', 'href="/login"'):
        assert link in r.text
    for audience in (
        "Citizens",
        "Registrars",
        "Clinicians",
        "MIS vendors",
        "Employers",
        "Inspectors",
        "The Social Health Insurance Fund",
    ):
        assert audience in r.text
    assert "GeoNames, www.geonames.org" in r.text and "CC BY 4.0" in r.text and "stat.gov.kz" in r.text


def test_directory_lists_the_entity_in_russian(client: TestClient, seeded_entity: int) -> None:
    r = client.get("/facilities?lang=ru")
    assert r.status_code == 200
    html = r.text
    assert "ГКП на ПХВ &#34;Городская поликлиника №3&#34; акимата города Астана" in html
    assert "150340001236" in html
    assert "ГОБМП" in html and "ОСМС" in html
    assert "Поликлиника" in html and "Врач общей практики (ВОП)" in html and "Педиатр" in html
    assert "г.Астана, пр. Абая, 12" in html
    assert f'href="/facilities/{seeded_entity}"' in html
    assert "/api/v1/facilities/export?format=csv" in html and "/api/v1/facilities/export?format=json" in html


def test_directory_names_entities_in_kazakh(client: TestClient, seeded_entity: int) -> None:
    html = client.get("/facilities?lang=kk").text
    assert '<html lang="kk">' in html
    assert "Дерекқордағы денсаулық сақтау субъектілері" in html
    assert "№3 қалалық емхана" in html and "ТМККК" in html and "МӘМС" in html and "БСН" in html
    assert "Астана қ., Абай даңғылы, 12" in html
    assert "Жалпы практика дәрігері (ЖПД)" in html


@pytest.mark.parametrize(
    ("lang", "query"),
    [
        ("kk", "ҚАЛАЛЫҚ ЕМХАНА"),  # Kazakh letters in upper case: lower() must fold them
        ("ru", "городская ПОЛИКЛИНИКА"),
        ("ru", "150340"),  # BIN prefix
        ("en", "пр. абая"),  # address
    ],
)
def test_directory_search_finds_the_entity(client: TestClient, seeded_entity: int, lang: str, query: str) -> None:
    r = client.get("/facilities", params={"q": query, "lang": lang})
    assert r.status_code == 200
    assert f'href="/facilities/{seeded_entity}"' in r.text


def test_directory_search_without_match_shows_the_empty_state(client: TestClient, seeded_entity: int) -> None:
    html = client.get("/facilities", params={"q": "Несуществующая клиника", "lang": "ru"}).text
    assert f'href="/facilities/{seeded_entity}"' not in html
    assert "Нет участвующих субъектов, соответствующих запросу." in html


def test_directory_filters_by_region_named_in_the_page_language(client: TestClient, seeded_entity: int) -> None:
    html = client.get("/facilities", params={"region": "710000000", "lang": "kk"}).text
    assert f'href="/facilities/{seeded_entity}"' in html
    assert '<option value="710000000" selected>Астана қ.</option>' in html
    assert "Ақмола облысы" in html
    assert "Akmola Region" in client.get("/facilities?lang=en").text
    other = client.get("/facilities", params={"region": "750000000"}).text
    assert f'href="/facilities/{seeded_entity}"' not in other


def test_directory_paginates(
    client: TestClient, sessions: sessionmaker[Session], make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    from emhana.facilities.service import apply_records
    from emhana.identity.rules import make_bin
    from tests.builders.facilities import entity_record

    actor, _ = make_actor(Role.FUND_ADMIN)
    bins = [b for b in (make_bin(15, 3, 4, 0, n) for n in range(1, 40)) if b][:23]
    with sessions.begin() as s:
        apply_records(
            session=s,
            actor=actor,
            records=[
                entity_record(b, name_ru=f"Поликлиника {i:02d}", name_kk=f"Емхана {i:02d}") for i, b in enumerate(bins)
            ],
        )
    first = client.get("/facilities?lang=ru").text
    assert "найдено: 23" in first and "Страница 1 из 2" in first
    assert "Поликлиника 00" in first and "Поликлиника 22" not in first
    second = client.get("/facilities?page=2").text
    assert "Поликлиника 22" in second and "Поликлиника 00" not in second
    assert client.get("/facilities?page=abc").status_code == 200


def test_near_search_shows_sites_with_distance(client: TestClient, seeded_entity: int) -> None:
    html = client.get("/facilities", params={"lat": "51.1280", "lon": "71.4304", "lang": "ru"}).text
    assert "Ближайшие подразделения" in html
    assert "0,00 км" in html
    assert "Филиал поликлиники №3" in html
    pediatric = client.get("/facilities", params={"lat": "51.16", "lon": "71.47", "profile": "pediatric"}).text
    assert "Филиал поликлиники №3" not in pediatric.split("results-title")[0]


def test_near_search_explains_bad_coordinates_in_the_page_language(client: TestClient) -> None:
    outside = client.get("/facilities", params={"lat": "10", "lon": "71", "lang": "kk"})
    assert outside.status_code == 200
    assert "Қазақстан аумағынан тыс" in outside.text
    bad = client.get("/facilities", params={"lat": "north", "lon": "71", "lang": "en"})
    assert "Enter the latitude and longitude as decimal numbers" in bad.text


def test_entity_page_shows_licences_history_sites_and_districts(client: TestClient, seeded_entity: int) -> None:
    r = client.get(f"/facilities/{seeded_entity}?lang=ru")
    assert r.status_code == 200
    html = r.text
    assert "KZ12LAA00001234" in html and "01.03.2015" in html and "бессрочно" in html
    assert "Включён" in html and "01.01.2020" in html
    assert "Государственное предприятие на праве хозяйственного ведения" in html
    assert "с 01.01.2026 по 31.12.2026" in html
    assert "Подразделения: 2" in html and "Участковый терапевт" in html
    assert "1\xa0700" in html and "2\xa0200" in html
    assert "710000000" in html and "г.Астана" in html


def test_unknown_entity_is_an_html_404(client: TestClient) -> None:
    for path in ("/facilities/999999", "/facilities/abc", "/facilities/99999999999999999999999"):
        r = client.get(path, headers={"Accept-Language": "ru"})
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "Страница не найдена" in r.text


def test_language_switch_sets_the_cookie_and_keeps_the_query(client: TestClient, seeded_entity: int) -> None:
    r = client.get("/facilities", params={"q": "поликлиника", "lang": "kk"})
    assert r.cookies.get("lang") == "kk"
    assert '<html lang="kk">' in r.text
    # The link goes through /language/ru, which keeps the choice and comes back to this page with its query.
    query = urlencode({"q": "поликлиника"})
    assert f'href="/language/ru?{urlencode({"next": f"/facilities?{query}"})}"' in r.text
    assert "Қазақша" in r.text and "Русский" in r.text and "English" in r.text
    follow = client.get("/facilities", headers={"Accept-Language": "en"})
    assert '<html lang="kk">' in follow.text, "the cookie beats Accept-Language"
    switched = client.get("/facilities?lang=ru")
    assert switched.cookies.get("lang") == "ru"
    assert "Субъекты здравоохранения в базе данных" in switched.text
    by_link = client.get(f"/language/en?{urlencode({'next': f'/facilities?{query}'})}", follow_redirects=False)
    assert by_link.headers["location"] == f"/facilities?{query}" and by_link.cookies.get("lang") == "en"


def test_accept_language_chooses_the_page_language(client: TestClient) -> None:
    assert '<html lang="kk">' in client.get("/", headers={"Accept-Language": "kk-KZ,ru;q=0.8"}).text
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "de,en;q=0.5"}).text
    assert '<html lang="ru">' in client.get("/", headers={"Accept-Language": "de"}).text


def test_login_sets_an_httponly_session_cookie_and_shows_the_user(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    r = login(client, actor.username)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Max-Age=43200" in cookie
    home = client.get("/?lang=ru").text
    assert actor.display_name in home and "Администратор Фонда" in home and "Выйти" in home
    assert client.get("/api/v1/auth/me").json()["username"] == actor.username


def test_login_failure_rerenders_the_form_with_a_translated_error(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.REGISTRAR)
    client.get("/?lang=kk")
    r = login(client, actor.username, "wrong-password")
    assert r.status_code == 401
    assert "Пайдаланушы аты немесе құпиясөз қате." in r.text
    assert f'value="{actor.username}"' in r.text
    assert SESSION_COOKIE not in client.cookies
    assert login(client, "nobody").status_code == 401


def test_post_forms_refuse_a_missing_or_mismatched_csrf_token(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    form = {"username": actor.username, "password": "secret-pass"}
    fresh = TestClient(client.app, raise_server_exceptions=False)
    missing = fresh.post("/login?lang=ru", data=form, follow_redirects=False)
    assert missing.status_code == 403 and "Обновите страницу" in missing.text
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={**form, "csrf": token[:-1] + ("0" if token[-1] != "0" else "1")}, follow_redirects=False
    )
    assert wrong.status_code == 403
    client.cookies.set(CSRF_COOKIE, "forged.token")
    forged = client.post("/login", data={**form, "csrf": "forged.token"}, follow_redirects=False)
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    assert client.post("/logout", data={"csrf": ""}, follow_redirects=False).status_code == 403


def test_logout_revokes_the_token_and_clears_the_cookie(
    client: TestClient, make_actor: Callable[..., tuple[Actor, str]]
) -> None:
    actor, _ = make_actor(Role.FUND_ADMIN)
    assert login(client, actor.username).status_code == 303
    token = client.cookies[SESSION_COOKIE]
    page = client.get("/").text
    r = client.post("/logout", data={"csrf": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert 'href="/login"' in client.get("/").text


def test_api_errors_stay_problem_json(client: TestClient) -> None:
    for path in ("/api/v1/nowhere", "/api/v1/facilities/entities/999999"):
        r = client.get(path, headers=HTML)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


def test_unknown_page_paths_are_html_404_once_installed(app: FastAPI) -> None:
    install_error_pages(app)
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/no-such-page?lang=en", headers=HTML)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "Page not found" in page.text
        api = c.get("/api/v1/no-such-thing", headers=HTML)
        assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
        assert c.get("/no-such-page").headers["content-type"] == "application/problem+json"
        assert c.get("/static/emhana.css").status_code == 200
        assert c.post("/", headers=HTML).status_code == 405


def test_static_assets_are_served(client: TestClient) -> None:
    css = client.get("/static/emhana.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert client.get("/static/emhana.js").status_code == 200
    assert client.get("/static/favicon.svg").status_code == 200
