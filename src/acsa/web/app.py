"""The web application for logistics and finance officers, mounted beside the API at `/`.

`mount(app)` adds the pages (sign-in, dashboard, order register, order page and its actions,
the order form and draft edit, claims, activities, agreements, rates, books, audit, people),
the static files with cache headers, and the Japanese web font (IPAexGothic, shipped by the
`japanize_matplotlib` package, found as `acsa.documents.fonts` finds it), so nothing is
fetched from elsewhere. Message catalogs are read once here, at startup.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from acsa.documents import fonts
from acsa.web import deps, i18n
from acsa.web.routes import admin, auth, dashboard, new_order, offsets, orders, pages, sync

STATIC = Path(__file__).parent / "static"
FONT_NAME = "ipaexg.ttf"
LONG_CACHE = "public, max-age=31536000, immutable"  # names carry their content hash


def _static_files() -> dict[str, tuple[bytes, str, str]]:
    """name -> (content, media type, short content hash), read once."""
    files: dict[str, tuple[bytes, str, str]] = {}
    for path in sorted(STATIC.iterdir()):
        if path.is_file():
            data = path.read_bytes()
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media.startswith("text/") or path.suffix == ".js":
                media += "; charset=utf-8"
            files[path.name] = (data, media, hashlib.sha256(data).hexdigest()[:12])
    return files


def mount(app: FastAPI) -> None:
    i18n.load_all()
    files = _static_files()
    font = fonts.font_files()[fonts.JAPANESE].read_bytes()  # 4 MB, read once
    font_hash = hashlib.sha256(font).hexdigest()[:12]
    for lang in i18n.LANGS:  # every page links each file by its content hash
        env = i18n.environment(lang)
        env.globals["static"] = {name: f"/static/{name}?v={h}"
                                 for name, (_, _, h) in files.items()}

    def _serve(request: Request, data: bytes, media: str, tag: str) -> Response:
        etag = f'"{tag}"'
        headers = {"Cache-Control": LONG_CACHE, "ETag": etag,
                   "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=media, headers=headers)

    @app.get("/static/fonts/" + FONT_NAME, include_in_schema=False)
    def japanese_font(request: Request) -> Response:
        """IPAexGothic (IPA Font License), for Japanese text without system fonts."""
        return _serve(request, font, "font/ttf", font_hash)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, request: Request) -> Response:
        found = files.get(name)
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        data, media, tag = found
        return _serve(request, data, media, tag)

    app.include_router(auth.router)
    app.include_router(dashboard.router)
    app.include_router(new_order.router)  # before orders: /orders/new is not an order number
    app.include_router(orders.router)
    app.include_router(pages.router)
    app.include_router(sync.router)
    app.include_router(offsets.router)
    app.include_router(admin.router)

    @app.exception_handler(deps.NeedsSignIn)
    async def _needs_sign_in(request: Request, e: deps.NeedsSignIn) -> Response:
        return deps.signin_redirect(e.next_path)
