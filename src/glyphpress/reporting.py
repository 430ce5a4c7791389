"""Reports as two files from one list of blocks: ``report.md`` (plots and images as PNG files beside it) and
``report.html`` (one self-contained file: inline CSS, pictures embedded as base64 PNG, every text escaped,
nothing fetched). Headings, paragraphs, lists, tables, plots (matplotlib's Agg backend on each figure, no
pyplot and no global state) and rows of images. The benchmark report and the θ search's report are written
with it."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .errors import GlyphpressError

MARKDOWN = "report.md"
HTML = "report.html"


@dataclass
class Table:
    head: list[str]
    numeric: list[bool]  # per column: right-aligned figures
    rows: list[list[str]]
    wrap: frozenset[str] = frozenset()  # columns of running text, wrapped in the HTML (others stay on one line)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(md(h) for h in self.head) + " |",
                 "|" + "|".join("---:" if n else "---" for n in self.numeric) + "|"]
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def html(self) -> str:
        def cls(j: int) -> str:
            return ' class="n"' if self.numeric[j] else ' class="w"' if self.head[j] in self.wrap else ""

        head = "".join(f"<th{cls(j)}>{h(x)}</th>" for j, x in enumerate(self.head))
        body = "".join("<tr>" + "".join(f"<td{cls(j)}>{h(c)}</td>" for j, c in enumerate(row)) + "</tr>"
                       for row in self.rows)
        return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


@dataclass
class Plot:
    name: str  # the PNG's file name
    title: str
    png: bytes | None
    missing: str = ""  # why there is no plot, one sentence


@dataclass
class Picture:
    name: str  # the PNG's file name
    caption: str
    png: bytes


class Doc:
    """The report as a list of blocks, written out as Markdown and as HTML."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.blocks: list[tuple[str, object]] = [("h", (1, title))]

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(("h", (level, text)))

    def para(self, text: str, note: bool = False) -> None:
        self.blocks.append(("p", (text, note)))

    def items(self, lines: list[str]) -> None:
        self.blocks.append(("ul", lines))

    def table(self, table: Table) -> None:
        self.blocks.append(("table", table))

    def plot(self, plot: Plot) -> None:
        self.blocks.append(("plot", plot))

    def pictures(self, pictures: list[Picture]) -> None:
        """Images side by side (in the HTML; one after another in the Markdown), each with its caption."""
        self.blocks.append(("pictures", pictures))

    def markdown(self) -> str:
        out = []
        for kind, b in self.blocks:
            if kind == "h":
                out.append("#" * b[0] + " " + md(b[1]))
            elif kind == "p":
                out.append(md(b[0]))
            elif kind == "ul":
                out.append("\n".join(f"- {md(line)}" for line in b))
            elif kind == "table":
                out.append(b.markdown())
            elif kind == "pictures":
                out.append("\n\n".join(f"![{md(p.caption)}]({p.name})\n\n*{md(p.caption)}*" for p in b))
            elif b.png is not None:
                out.append(f"![{md(b.title)}]({b.name})")
            else:
                out.append(f"*{md(b.title)}: {md(b.missing)}*")
        return "\n\n".join(out) + "\n"

    def html(self) -> str:
        out = []
        for kind, b in self.blocks:
            if kind == "h":
                out.append(f"<h{b[0]}>{h(b[1])}</h{b[0]}>")
            elif kind == "p":
                out.append(f'<p{" class=note" if b[1] else ""}>{h(b[0])}</p>')
            elif kind == "ul":
                out.append("<ul>" + "".join(f"<li>{h(line)}</li>" for line in b) + "</ul>")
            elif kind == "table":
                out.append(b.html())
            elif kind == "pictures":
                out.append('<div class="row">' + "".join(
                    f'<figure><img alt="{h(p.caption)}" src="data:image/png;base64,{_b64(p.png)}">'
                    f"<figcaption>{h(p.caption)}</figcaption></figure>" for p in b) + "</div>")
            elif b.png is not None:
                out.append(f'<figure><img alt="{h(b.title)}" src="data:image/png;base64,{_b64(b.png)}">'
                           f"<figcaption>{h(b.title)}</figcaption></figure>")
            else:
                out.append(f'<p class="note"><em>{h(b.title)}: {h(b.missing)}</em></p>')
        return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{h(self.title)}</title>\n'
                f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(out) + "\n</body>\n</html>\n")

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """``report.md`` with its PNG files, and ``report.html``, into ``folder``; a plot of an earlier report
        there that has no data now is removed. Returns the two reports' paths."""
        target = Path(folder)
        if target.exists() and not target.is_dir():
            raise GlyphpressError(f"{target}: exists and is not a folder; name a folder for the report")
        target.mkdir(parents=True, exist_ok=True)
        for kind, block in self.blocks:
            if kind == "plot":
                path = target / block.name
                if block.png is not None:
                    path.write_bytes(block.png)
                elif path.is_file():
                    path.unlink()
            elif kind == "pictures":
                for p in block:
                    (target / p.name).write_bytes(p.png)
        md_path, html_path = target / MARKDOWN, target / HTML
        md_path.write_text(self.markdown(), encoding="utf-8")
        html_path.write_text(self.html(), encoding="utf-8")
        return md_path, html_path


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#fff;
max-width:96rem;margin:2rem auto;padding:0 1.25rem;line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.5rem}
h2{font-size:1.3rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem;margin-top:2.2rem}
h3{font-size:1.05rem;margin:1.6rem 0 .4rem}
.wide{overflow-x:auto}
table{border-collapse:collapse;font-size:.86rem;margin:.4rem 0 1rem}
th,td{padding:.3rem .55rem;border-bottom:1px solid #d8dee4;text-align:left;vertical-align:top;white-space:nowrap}
td.w{white-space:normal;min-width:20rem}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fbfcfd}
figure{margin:1rem 0}img{max-width:100%;height:auto}
.row{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.row figure{flex:1 1 16rem;max-width:30rem;margin:0}
.row img{border:1px solid #d0d7de}
figcaption,.note{color:#57606a;font-size:.86rem}
"""


def md(text: str) -> str:
    """Text in Markdown: no raw HTML (``<`` and ``>`` as entities), no table-breaking bar, one line."""
    return " ".join(text.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").split("\n"))


def h(text: str) -> str:
    return html.escape(text, quote=True)


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


# ---------------------------------------------------------------------------------------------- plots


def figure() -> tuple[Figure, object]:
    """A figure and its axes in the reports' style."""
    fig = Figure(figsize=(7.5, 4.2), dpi=110)
    FigureCanvasAgg(fig)  # the Agg backend, on this figure only: no pyplot, no global state
    ax = fig.add_subplot()
    ax.grid(True, color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def png(fig: Figure, ax, title: str, legend: bool = True) -> bytes:
    ax.set_title(tex(title), fontsize=11)
    if legend:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def tex(text: str) -> str:
    """Plain text for matplotlib, where a pair of ``$`` would start math."""
    return text.replace("$", r"\$")
