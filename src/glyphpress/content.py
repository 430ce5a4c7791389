"""What a render takes, whatever it came from: plain text, a structured document, or pages that exist
already (a raster PDF, images). Each input becomes one ``Content``; the stages after ask it, not its type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import GlyphpressError
from .io import check_text, normalize_newlines

if TYPE_CHECKING:
    from .config import RenderConfig
    from .document.images import ImageDocument
    from .document.model import Document
    from .document.pdf import RasterDocument
    from .layout.flow import Flow


@dataclass
class Content:
    source: str  # the text tokens are counted on; source ranges index it
    name: str = "text"
    format: str = "text"
    parts: list[tuple[str, int, int]] = field(default_factory=list)  # a bundle's documents: name, range
    document: Document | None = None  # structured: becomes a styled flow under θ
    raster: RasterDocument | ImageDocument | None = None  # its pages exist already: nothing to lay out
    flows: dict = field(default_factory=dict, repr=False)  # (θ, line numbers) -> the document's flow, made already

    @classmethod
    def of(cls, obj: str | Document | RasterDocument | ImageDocument | Content, name: str | None = None) -> Content:
        """A str (newlines normalised), a ``Document``, a ``RasterDocument`` or ``ImageDocument``, or a Content as
        it is."""
        if isinstance(obj, Content):
            return obj
        if isinstance(obj, str):
            text = normalize_newlines(obj)
            check_text(text)
            return cls(text, name or "text")
        from .document.images import ImageDocument
        from .document.model import Document
        from .document.pdf import RasterDocument

        if isinstance(obj, (RasterDocument, ImageDocument)):
            return cls(obj.source, name or obj.name or "text", obj.format, raster=obj)
        if isinstance(obj, Document):
            check_text(obj.source, obj.name)
            return cls(obj.source, name or obj.name or "text", obj.format, list(obj.parts), document=obj)
        raise GlyphpressError(f"text must be a str or a Document, got {type(obj).__name__}")

    def raster_for(self, cfg: RenderConfig) -> RasterDocument | ImageDocument | None:
        """The pages that exist already, as θ ``cfg`` has them: images fitted into its page, a PDF's pages as
        they were rasterised."""
        from .document.images import ImageDocument

        return self.raster.at(cfg) if isinstance(self.raster, ImageDocument) else self.raster

    @property
    def plain(self) -> bool:
        """Plain text: laid out as it is (the fast path; several processes can share it)."""
        return self.document is None and self.raster is None

    def flow(self, cfg: RenderConfig, line_numbers: bool = False) -> str | Flow:
        """What layout takes: the text itself, or the document flattened into a styled flow under θ."""
        if self.document is None:
            return self.source
        if (cfg, line_numbers) in self.flows:
            return self.flows[(cfg, line_numbers)]
        from .document.flatten import to_flow

        return to_flow(self.document, cfg, line_numbers)
