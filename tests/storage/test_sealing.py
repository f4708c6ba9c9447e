"""The secrets key: made 0600 on first start, refused when missing while sealed secrets exist,
opens what any of its keys sealed, and re-seals with the first key after a rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from parley.storage.sealing import PREFIX, Sealer, SealingError, parse_keys, rotate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_file_is_made_private_on_first_start(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "secrets.key"
    sealer = Sealer(path)
    assert sealer.load(create=True) is True
    if os.name == "posix":
        assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert len(parse_keys(path.read_text())) == 1
    # The next start reads the same key: what one sealed, the other opens.
    sealed = sealer.seal("JBSWY3DPEHPK3PXP")
    again = Sealer(path)
    assert again.load(create=True) is False
    assert again.open(sealed) == "JBSWY3DPEHPK3PXP"


def test_a_sealed_value_does_not_show_the_secret_and_needs_its_key(tmp_path: Path) -> None:
    sealer = Sealer(tmp_path / "k")
    sealer.load(create=True)
    sealed = sealer.seal("JBSWY3DPEHPK3PXP")
    assert sealed.startswith(PREFIX) and "JBSWY3DPEHPK3PXP" not in sealed
    assert len(sealed) <= 255  # users.totp_secret_sealed
    other = Sealer(None)
    other.use([Fernet.generate_key()])
    with pytest.raises(SealingError):
        other.open(sealed)
    # A value from before sealing (no prefix) is read as it is, and sealed when asked.
    assert sealer.open("JBSWY3DPEHPK3PXP") == "JBSWY3DPEHPK3PXP"
    resealed = sealer.resealed("JBSWY3DPEHPK3PXP")
    assert resealed is not None and sealer.open(resealed) == "JBSWY3DPEHPK3PXP"
    assert sealer.resealed(sealed) is None  # already sealed with the first key


def test_a_missing_key_file_is_not_replaced_when_secrets_were_sealed(tmp_path: Path) -> None:
    with pytest.raises(SealingError, match="missing"):
        Sealer(tmp_path / "gone.key").load(create=False)
    assert not (tmp_path / "gone.key").exists()


def test_rotation_keeps_old_keys_for_opening_and_seals_with_the_new(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    old = Sealer(path)
    old.load(create=True)
    sealed = old.seal("SECRET")
    rotate(path)
    keys = parse_keys(path.read_text())
    assert len(keys) == 2
    if os.name == "posix":
        assert mode(path) == 0o600
    new = Sealer(path)
    new.load(create=False)
    assert new.open(sealed) == "SECRET"  # the old key still opens
    resealed = new.resealed(sealed)
    assert resealed is not None
    assert Fernet(keys[0]).decrypt(resealed[len(PREFIX) :].encode()) == b"SECRET"
    assert new.resealed(resealed) is None


def test_bad_key_files_are_refused_and_open_ones_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    for text in ("", "# nothing\n", "not-a-key\n"):
        path.write_text(text)
        with pytest.raises(SealingError):
            Sealer(path).load(create=False)
    path.write_text(Fernet.generate_key().decode() + "  # the key\n")
    if os.name == "posix":
        os.chmod(path, 0o644)
        Sealer(path).load(create=False)
        assert mode(path) == 0o600
