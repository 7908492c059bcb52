"""``gallery.html``: thumbnails with the teacher's boxes and masks, filterable by class
and split, so that a person can check the labels before paying for training."""

from __future__ import annotations

import html
import json
from pathlib import Path

import cv2
import supervision as sv

from edgedistill.detections import class_ids
from edgedistill.drawing import annotate, thumbnail
from edgedistill.media.images import read_image


class Gallery:
    """Collects annotated thumbnails, then writes one self-contained HTML page."""

    def __init__(self, root: Path, names: list[str], limit: int) -> None:
        self.root, self.names, self.limit = root, names, limit
        self.items: list[dict[str, object]] = []
        (root / "gallery").mkdir(parents=True, exist_ok=True)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def add(self, frame_id: str, split: str, image_path: Path, detections: sv.Detections) -> None:
        picture = thumbnail(annotate(read_image(image_path), detections, self.names))
        name = f"gallery/{frame_id}.jpg"
        cv2.imwrite(str(self.root / name), picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
        classes = sorted({self.names[c] for c in class_ids(detections)})
        self.items.append({"src": name, "split": split, "classes": classes, "id": frame_id})

    def write(self, title: str, split: str, caveat: str | None = None) -> Path:
        """The page; ``split`` says what val and test hold out, under the title; ``caveat``
        (a stand-in or random teacher) shows as a banner on top."""
        options = "".join(f"<option>{html.escape(n)}</option>" for n in self.names)
        banner = f'<p class="caveat"><b>Caveat.</b> {html.escape(caveat)}</p>' if caveat else ""
        page = _PAGE.replace("{{title}}", html.escape(title)).replace("{{classes}}", options)
        page = page.replace("{{caveat}}", banner).replace("{{split}}", html.escape(split))
        page = page.replace("{{items}}", script_json(self.items))
        path = self.root / "gallery.html"
        path.write_text(page, encoding="utf-8")
        return path


def script_json(value: object) -> str:
    """JSON that is safe inside ``<script>``: no ``</script>``, ``<!--`` or ``&`` can appear."""
    text = json.dumps(value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa}
header{display:flex;gap:1em;align-items:center;flex-wrap:wrap}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:10px;margin-top:1em}
figure{margin:0;background:#fff;border:1px solid #ddd;border-radius:4px;overflow:hidden}
figure img{width:100%;display:block}figcaption{padding:4px 6px;color:#444;font-size:12px}
.split{font-weight:600;text-transform:uppercase;margin-right:.5em}
.caveat{background:#fff3cd;border:2px solid #d39e00;padding:.6em 1em;font-size:15px}
.split-note{margin:.5em 0 0;color:#333}
</style></head><body>{{caveat}}
<header><h1 style="margin:0;font-size:20px">{{title}}</h1>
<label>class <select id="cls"><option value="">all</option>{{classes}}
<option value="__none__">no objects</option></select></label>
<label>split <select id="split"><option value="">all</option><option>train</option>
<option>val</option><option>test</option></select></label><span id="count"></span></header>
<p class="split-note">Split: {{split}}.</p>
<div id="grid"></div>
<script>
const items = {{items}};
const grid = document.getElementById("grid");
function render() {
  const cls = document.getElementById("cls").value, split = document.getElementById("split").value;
  const shown = items.filter(i => (!split || i.split === split) &&
    (!cls || (cls === "__none__" ? i.classes.length === 0 : i.classes.includes(cls))));
  grid.replaceChildren(...shown.map(i => {
    const f = document.createElement("figure"), img = document.createElement("img");
    img.src = i.src; img.loading = "lazy"; img.alt = i.id;
    const c = document.createElement("figcaption"), s = document.createElement("span");
    s.className = "split"; s.textContent = i.split;
    c.append(s, i.classes.join(", ") || "no objects");
    f.append(img, c); return f;
  }));
  document.getElementById("count").textContent = shown.length + " of " + items.length + " frames";
}
document.getElementById("cls").onchange = render;
document.getElementById("split").onchange = render;
render();
</script></body></html>
"""
