"""The admin page that imports people from an HR CSV file: upload, preview, apply.

The preview is a dry run. The file it checked travels to the "Apply" step inside a
signed, compressed hidden field (bound to the admin and valid for an hour), so the
server keeps no state between the two steps and applies exactly what was previewed
(validated again, in one transaction). To anyone but an admin the page is a 404.
"""

from __future__ import annotations

import base64
import binascii
import io
import zlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from townhall.accounts.models import User
from townhall.core.errors import PermissionDenied
from townhall.directory.csv_import import ImportReport, check_can_import, import_people, max_size_text

SALT = "townhall.directory.people_import"
PREVIEW_MAX_AGE = 60 * 60
SHOWN_ROWS = 1_000
TEMPLATE = "directory/import.html"


def _limit() -> int:
    return int(settings.TOWNHALL_CSV_MAX_BYTES)


class _CappedUploadHandler(FileUploadHandler):
    """Keeps an upload in memory up to the CSV limit and drops it past that, so an
    oversized file is never stored, in memory or on disk."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_big = False
        self.buffer = io.BytesIO()
        self.size = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer, self.size = io.BytesIO(), 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        if self.size > self.limit:
            self.too_big = True
            raise SkipFile
        self.buffer.write(raw_data)

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            self.buffer,
            self.field_name,
            self.file_name,
            self.content_type,
            file_size,
            self.charset,
            self.content_type_extra,
        )


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Comma- or semicolon-separated, with a header line. UTF-8 is best; Excel's plain CSV works too.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )


def _admin(request: HttpRequest) -> User:
    try:
        check_can_import(request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    assert isinstance(request.user, User)
    return request.user


def _pack(raw: bytes, *, name: str, actor: User) -> str:
    data = base64.b64encode(zlib.compress(raw, 6)).decode("ascii")
    return signing.dumps({"csv": data, "name": name[:200], "by": actor.pk}, salt=SALT)


def _unpack(token: str, *, actor: User) -> tuple[bytes, str] | None:
    try:
        data = signing.loads(token, salt=SALT, max_age=PREVIEW_MAX_AGE)
        if data.get("by") != actor.pk:
            return None
        raw = zlib.decompressobj().decompress(base64.b64decode(data["csv"]), _limit() + 1)
    except (signing.BadSignature, KeyError, TypeError, ValueError, binascii.Error, zlib.error):
        return None
    return raw, str(data.get("name", ""))


def _page(
    request: HttpRequest,
    *,
    form: UploadForm,
    report: ImportReport | None = None,
    payload: str = "",
    name: str = "",
    problem: str = "",
    status: int = 200,
) -> HttpResponse:
    changed = [row for row in report.rows if row.action != "unchanged"] if report else []
    context = {
        "nav": "manage",
        "tab": "import",
        "page_title": "Admin · Import people",
        "form": form,
        "report": report,
        "payload": payload,
        "problem": problem,
        "file_name": name,
        "shown_rows": changed[:SHOWN_ROWS],
        "hidden_rows": max(0, len(changed) - SHOWN_ROWS),
        "max_size": max_size_text(),
    }
    return render(request, TEMPLATE, context, status=status)


@csrf_exempt  # only so the upload handler can be swapped before the body is read; CSRF is checked below
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a CSV file and see the dry-run report."""
    actor = _admin(request)
    handler = _CappedUploadHandler(request, _limit())
    request.upload_handlers = [handler]
    return _upload(request, actor, handler)


@csrf_protect
def _upload(request: HttpRequest, actor: User, handler: _CappedUploadHandler) -> HttpResponse:
    if request.method != "POST":
        return _page(request, form=UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if handler.too_big:
        problem = f"The file is larger than {max_size_text()}. Split it and import the parts one after another."
        return _page(request, form=UploadForm(), problem=problem, status=400)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    upload_file = form.cleaned_data["file"]
    raw = upload_file.read(_limit() + 1)
    report = import_people(actor=actor, data=raw, dry_run=True)
    payload = _pack(raw, name=upload_file.name, actor=actor) if report.ok and (report.created or report.updated) else ""
    return _page(
        request,
        form=UploadForm(),
        report=report,
        payload=payload,
        name=upload_file.name,
        status=200 if report.ok else 400,
    )


@require_POST
def apply(request: HttpRequest) -> HttpResponse:
    """Apply a previewed file. It is validated again; any error writes nothing."""
    actor = _admin(request)
    unpacked = _unpack(request.POST.get("payload", ""), actor=actor)
    if unpacked is None:
        problem = "This preview has expired or is not valid. Upload the file again."
        return _page(request, form=UploadForm(), problem=problem, status=400)
    raw, name = unpacked
    report = import_people(actor=actor, data=raw, dry_run=False)
    if not report.ok:
        return _page(request, form=UploadForm(), report=report, name=name, status=400)
    messages.success(
        request,
        f"Import applied from {name or 'the file'}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged.",
    )
    return redirect("people_import:upload")
