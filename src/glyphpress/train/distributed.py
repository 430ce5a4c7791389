"""Building shards on Ray Data: the shards to make as a dataset of shard numbers, ``map_batches`` with a
stateful maker per actor (the corpus read once per actor), each shard written by the actor that made it into
the output folder (which a real cluster must share: a network file system or a mounted bucket). The records
are exactly the local build's: record ``i`` depends on the seed and ``i`` alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ..errors import GlyphpressError


def build_on_ray(spec, out: Path, todo: list[int], address: str, progress: Callable[[dict], None] | None,
                 actors: int | None = None) -> list[dict]:
    try:
        import ray
    except ImportError:
        raise GlyphpressError("--ray needs Ray: pip install 'glyphpress[train]'") from None
    if not todo:
        return []
    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address in ("", "local") else address, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    spec_dict, folder = asdict(spec), str(out)

    class Writer:
        def __init__(self):
            from .build import Maker, Spec

            self.maker = Maker(Spec(**spec_dict))

        def __call__(self, batch):
            from .build import _write

            rows = [_write(self.maker, Path(folder), int(k)) for k in batch["shard"]]
            return {"shard": [r["shard"] for r in rows], "records": [r.get("records", 0) for r in rows],
                    "pages": [r.get("pages", 0) for r in rows], "skipped": [r["skipped"] for r in rows]}

    try:
        n = actors or max(1, min(len(todo), int(ray.available_resources().get("CPU", 1))))
        ds = ray.data.from_items([{"shard": k} for k in todo])
        results = []
        for row in ds.map_batches(Writer, batch_size=1, compute=ray.data.ActorPoolStrategy(size=n)).iter_rows():
            r = {"shard": row["shard"], "records": int(row["records"]), "pages": int(row["pages"]),
                 "skipped": bool(row["skipped"])}
            results.append(r)
            if progress:
                progress(r)
        return results
    finally:
        if started:
            ray.shutdown()
