"""Path parameters shared by the REST routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

#: A row's id in a path: a positive integer that fits the database's integer (a larger one is
#: no row anyway, and would overflow the driver: 422 instead of a 500).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
