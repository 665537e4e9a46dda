"""sqlite-utils, imported before the rest of storage without numpy and pandas.

sqlite-utils imports numpy and pandas whenever they are installed, to store their values; the
bot stores none of them, and numpy alone costs more start-up than the rest of storage (the
terminal chat's first answer waits on it). They are hidden for that one import, so sqlite-utils
maps no numpy types; importing them later works as usual.
"""

from __future__ import annotations

import sys

_HIDDEN = [name for name in ("numpy", "pandas") if name not in sys.modules]
for _name in _HIDDEN:
    sys.modules[_name] = None  # type: ignore[assignment]  # None: "import numpy" fails at once
try:
    import sqlite_utils  # noqa: F401 - loaded now, with those hidden
finally:
    for _name in _HIDDEN:
        del sys.modules[_name]
