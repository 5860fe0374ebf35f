"""The value types every request and step shares, each bounded and named for what it is.

A text is what a person wrote: stripped, at least one visible character, at most 2000
characters (`ShortText`: 200, for names and signatures). Money comes in as `MoneyIn` (two
places, never negative, within what the books' NUMERIC(12, 2) holds) and goes out as
`MoneyOut` (a decimal string with two places, "120.00").
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, StringConstraints

MONEY_CEILING = Decimal("9999999999.99")
"""The largest amount NUMERIC(12, 2) holds."""

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=r"\S")
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()-]{3,29}[0-9]$")
]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
PartNumber = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
ShortItem = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=r"\S")]
"""A line of a list (a checklist's item)."""
Category = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
"""A product category (R34), and so what a technician's certificate is for."""
MoneyIn = Annotated[Decimal, Field(ge=0, le=MONEY_CEILING, decimal_places=2)]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
FileKey = Annotated[str, StringConstraints(pattern=r"^sha256/[0-9a-f]{64}$")]
"""A stored file (a signature, a photo) by the SHA-256 of its bytes (store/files.py)."""
SIGNATURE_MAX_BYTES = 256 * 1024
"""A signature pad's PNG is a few kilobytes; this leaves room for a large, detailed one."""
PNG_DATA_URL = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PngDataUrl = Annotated[
    str,
    StringConstraints(
        max_length=len(PNG_DATA_URL) + (SIGNATURE_MAX_BYTES + 2) // 3 * 4,
        pattern=r"^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$",
    ),
]
"""A signature as a signature pad gives it: `data:image/png;base64,...`, at most
SIGNATURE_MAX_BYTES of PNG."""


def png_of(data_url: str) -> bytes:
    """The PNG a `PngDataUrl` carries; ValueError when its bytes are not a PNG image."""
    data = base64.b64decode(data_url.removeprefix(PNG_DATA_URL), validate=True)
    if not data.startswith(PNG_MAGIC):
        raise ValueError("the signature is not a PNG image")
    return data
