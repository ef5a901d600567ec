"""Draw the package structure from the code: ``python tools/architecture.py`` writes docs/architecture.svg.

The import graph comes from grimp (the same library as tests/test_imports.py), folded to the packages a
reader thinks in: the domains on top, the shared services in the middle, the foundation at the bottom. An
arrow is "imports"; its number is how many module-to-module imports it stands for. A red dashed arrow goes
upwards (a lower layer importing a higher one): each is a known exception listed in tests/test_imports.py.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

import grimp

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "architecture.svg"

# (layer, packages left to right); a package is a top-level package or a sub-package of casework.
LAYERS = (
    ("Domains", ("casework.cases", "casework.offline", "referral", "livelihood")),
    ("Shared services", ("casework.api", "casework.auth", "casework.stats")),
    ("Foundation", ("casework (core)", "casework.protect", "casework.geo")),
)
NOTES = {
    "casework.cases": "cases, intake, closure, transfer",
    "casework.offline": "sealed offline intake",
    "referral": "referrals, organisations",
    "livelihood": "survivors, proposals, money",
    "casework.api": "JSON API, OpenAPI",
    "casework.auth": "accounts, roles, scope",
    "casework.stats": "releases, disclosure control",
    "casework (core)": "app factory, queue, notify",
    "casework.protect": "encryption, audit trail",
    "casework.geo": "2025 map, pre-2025 units",
}
BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 200, 58, 40, 110, 30


def package_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "casework":
        return parts[0]
    if len(parts) > 1 and f"casework.{parts[1]}" in {p for _, row in LAYERS for p in row}:
        return f"casework.{parts[1]}"
    return "casework (core)"


def package_edges() -> Counter[tuple[str, str]]:
    graph = grimp.build_graph("casework", "referral", "livelihood", include_external_packages=False)
    edges: Counter[tuple[str, str]] = Counter()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = package_of(module), package_of(imported)
            if a != b:
                edges[(a, b)] += 1
    return edges


def _arrow_head(marker_id: str, colour: str) -> str:
    """An SVG arrow head for the lines of one colour (``marker-end="url(#id)"``)."""
    return (f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
            f'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
            f'fill="{colour}"/></marker>')


def draw(edges: Counter[tuple[str, str]]) -> str:
    width = MARGIN * 2 + max(len(row) for _, row in LAYERS) * (BOX_W + GAP_X) - GAP_X + 120
    height = MARGIN * 2 + len(LAYERS) * (BOX_H + GAP_Y) - GAP_Y + 40
    place: dict[str, tuple[float, float, int]] = {}
    for level, (_, row) in enumerate(LAYERS):
        row_w = len(row) * (BOX_W + GAP_X) - GAP_X
        x0 = 120 + (width - 120 - row_w) / 2
        for i, name in enumerate(row):
            place[name] = (x0 + i * (BOX_W + GAP_X), MARGIN + level * (BOX_H + GAP_Y), level)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="13">',
           "<title>Tin Cậy: packages and their imports</title>",
           f'<defs>{_arrow_head("a", "#555")}{_arrow_head("r", "#b3261e")}</defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>']
    for level, (label, _) in enumerate(LAYERS):
        y = MARGIN + level * (BOX_H + GAP_Y) + BOX_H / 2 + 4
        out.append(f'<text x="12" y="{y:.0f}" font-weight="bold" fill="#333">{escape(label)}</text>')
    for (a, b), n in sorted(edges.items()):
        if a not in place or b not in place:
            continue
        (ax, ay, al), (bx, by, bl) = place[a], place[b]
        up = bl < al
        # Ends spread along the box edge towards the other box, so that arrows do not share one point.
        x1 = ax + BOX_W / 2 + max(-BOX_W / 2 + 10, min(BOX_W / 2 - 10, (bx - ax) * 0.22))
        x2 = bx + BOX_W / 2 + max(-BOX_W / 2 + 10, min(BOX_W / 2 - 10, (ax - bx) * 0.22))
        y1 = ay + (0 if up else BOX_H) if al != bl else ay + BOX_H / 2
        y2 = by + (BOX_H if up else 0) if al != bl else by + BOX_H / 2
        if al == bl:  # same layer: from the side
            x1, x2 = (ax + BOX_W, bx) if ax < bx else (ax, bx + BOX_W)
        offset = 6 if (b, a) in edges else 0  # two-way imports: two parallel arrows
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1
        ox, oy = -dy / length * offset, dx / length * offset
        colour, style, marker = ("#b3261e", ' stroke-dasharray="5 4"', "r") if up else ("#777", "", "a")
        out.append(f'<line x1="{x1 + ox:.0f}" y1="{y1 + oy:.0f}" x2="{x2 + ox:.0f}" y2="{y2 + oy:.0f}" '
                   f'stroke="{colour}" stroke-width="{1 + min(n, 40) / 12:.1f}"{style} marker-end="url(#{marker})"/>')
        mx, my = x1 + dx * 0.35 + ox * 2, y1 + dy * 0.35 + oy * 2
        out.append(f'<text x="{mx:.0f}" y="{my:.0f}" font-size="11" fill="{colour}">{n}</text>')
    for name, (x, y, _) in place.items():
        domain = name in LAYERS[0][1]
        out.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                   f'fill="{"#e8f0fe" if domain else "#f3f3f3"}" stroke="#333"/>')
        out.append(f'<text x="{x + BOX_W / 2:.0f}" y="{y + 24:.0f}" text-anchor="middle" '
                   f'font-weight="bold">{escape(name)}</text>')
        out.append(f'<text x="{x + BOX_W / 2:.0f}" y="{y + 43:.0f}" text-anchor="middle" font-size="11" '
                   f'fill="#444">{escape(NOTES.get(name, ""))}</text>')
    legend_y = height - 14
    out.append(f'<text x="12" y="{legend_y}" font-size="11" fill="#444">Arrow: imports (number: module '
               'imports it stands for). Red dashed: a lower layer importing a higher one, a known exception '
               'listed in tests/test_imports.py. Drawn by tools/architecture.py from the code.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> None:
    OUT.write_text(draw(package_edges()), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
