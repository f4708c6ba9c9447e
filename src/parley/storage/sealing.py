"""Secrets sealed at rest: what the database keeps of a secret it must read back (a TOTP
secret) is encrypted with a key that is *not* in the database, so that a copy of the database
(a backup, a dump, a stolen disk) does not give anyone the codes of anyone's phone.

The keys are in a file outside the database (``Settings.secrets_key_file``, by default
``<data_dir>/secrets.key``, mode 0600): one Fernet key (``cryptography``: AES-128-CBC with
HMAC-SHA256, authenticated) per line, the first one sealing, every one opening; ``#`` starts a
comment. The file is made on a node's first start, unless the database already holds sealed
secrets (then the node refuses to start without the key that sealed them: a new key would
lock everyone out of two-factor sign-in). Rotation: ``parley secrets-key rotate`` puts a new
key first and keeps the old ones; at its next start a node re-seals with the first key every
secret sealed with another (``AccountService.start``); once every node has started with the
new file, the old lines may go.

A sealed value is ``fernet:`` and the token. A value without the prefix is a secret stored in
the clear before sealing existed (migration 0017); it is read as it is, and sealed at start.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

PREFIX = "fernet:"
KEY_FILE_MODE = 0o600
KEY_DIR_MODE = 0o700
#: The most keys a file may hold (each opening costs a try on an old secret).
MAX_KEYS = 20


class SealingError(Exception):
    """A sealed value no key opens, or a key file that cannot be used."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def parse_keys(text: str) -> list[bytes]:
    """The keys of a key file's text, first (the sealing one) first."""
    keys: list[bytes] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            Fernet(line.encode())
        except ValueError:
            raise SealingError(f"line {number} is not a key (32 url-safe base64 bytes)") from None
        keys.append(line.encode())
    if not keys:
        raise SealingError("no key in the file")
    if len(keys) > MAX_KEYS:
        raise SealingError(f"at most {MAX_KEYS} keys")
    return keys


class Sealer:
    """Seals and opens secrets with a key ring (``load`` it first)."""

    def __init__(self, path: Path | None) -> None:
        """``path``: the key file; None: keys given to ``use`` only (tests)."""
        self.path = path
        self._ring: MultiFernet | None = None
        self._first: Fernet | None = None

    @property
    def loaded(self) -> bool:
        return self._ring is not None

    def use(self, keys: Sequence[bytes]) -> None:
        self._first = Fernet(keys[0])
        self._ring = MultiFernet([Fernet(k) for k in keys])

    def load(self, *, create: bool) -> bool:
        """Read the key file; make it (one new key, 0600, its directory 0700 if new) when it
        is missing and ``create``. True if it was made now. A file open to other users is
        tightened, with a warning."""
        assert self.path is not None
        made = False
        if not self.path.exists():
            if not create:
                raise SealingError(
                    f"{self.path} is missing, and the database holds secrets sealed with a key "
                    "from it: copy the key file from another node (or a backup) there, or set "
                    "PARLEY_SECRETS_KEY_FILE to it"
                )
            made = _create(self.path)
        elif os.name == "posix":
            mode = stat.S_IMODE(self.path.stat().st_mode)
            if mode & 0o077:
                os.chmod(self.path, KEY_FILE_MODE)
                log.warning("%s was open to other users (mode %o); it is now 600", self.path, mode)
        self.use(parse_keys(self.path.read_text()))
        return made

    def seal(self, plain: str) -> str:
        assert self._ring is not None, "Sealer.load() was not called"
        return PREFIX + self._ring.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds (a value from before sealing: as it is)."""
        if not stored.startswith(PREFIX):
            return stored
        assert self._ring is not None, "Sealer.load() was not called"
        try:
            return self._ring.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SealingError("no key of the key file opens this secret") from None

    def resealed(self, stored: str) -> str | None:
        """``stored`` sealed with the first key, or None when it already is (a clear value
        from before sealing is sealed; one no key opens raises ``SealingError``)."""
        assert self._first is not None, "Sealer.load() was not called"
        if stored.startswith(PREFIX):
            with suppress(InvalidToken):
                self._first.decrypt(stored[len(PREFIX) :].encode())
                return None
        return self.seal(self.open(stored))


def _create(path: Path) -> bool:
    directory = path.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=KEY_DIR_MODE, exist_ok=True)
        if os.name == "posix":
            os.chmod(directory, KEY_DIR_MODE)
    text = (
        "# Parley's keys for secrets sealed at rest (docs/operations.md, Secrets key).\n"
        "# The first key seals; every key opens. Keep this file out of database backups.\n"
        f"{new_key()}\n"
    )
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, KEY_FILE_MODE)
    except FileExistsError:
        return False  # another process made it meanwhile: use theirs
    with os.fdopen(fd, "w") as f:
        f.write(text)
    log.info(
        "made a new secrets key file %s: keep it, and back it up apart from the database", path
    )
    return True


def rotate(path: Path) -> None:
    """Put a new key first in the key file, keeping the others (``parley secrets-key
    rotate``); the file keeps its mode."""
    keys = parse_keys(path.read_text())
    if len(keys) >= MAX_KEYS:
        raise SealingError(f"the file already holds {MAX_KEYS} keys: remove old ones first")
    lines = [new_key(), *(k.decode() for k in keys)]
    text = (
        "# Parley's keys for secrets sealed at rest (docs/operations.md, Secrets key).\n"
        "# The first key seals; every key opens. Keep this file out of database backups.\n"
        + "".join(f"{line}\n" for line in lines)
    )
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, KEY_FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
