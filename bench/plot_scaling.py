"""Weak-scaling figure (bench/RESULTS.md, issue 14): particle-steps per second against the number of
MPI ranks, measured on this machine (bench/mpi_scaling.sh ... CSV_FILE), beside ideal scaling from
one rank and the machine's core count, where oversubscription starts. Standard library only: the
figure is SVG written directly.

Usage: python3 bench/plot_scaling.py SCALING.csv OUT.svg CORES [LABEL]"""

from __future__ import annotations

import csv
import sys

W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 420, 90, 190, 40, 60


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    rows = list(csv.DictReader(open(sys.argv[1])))
    cores, label = int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "measured"
    ranks = [int(r["ranks"]) for r in rows]
    rate = [float(r["rate"]) for r in rows]
    ideal = [rate[0] * p for p in ranks]
    x_hi, y_hi = max(ranks) + 0.5, max(ideal + rate) * 1.15

    def px(x: float) -> float:
        return LEFT + (x - 0.5) / (x_hi - 0.5) * (W - LEFT - RIGHT)

    def py(y: float) -> float:
        return H - BOTTOM - y / y_hi * (H - TOP - BOTTOM)

    def line(xs, ys, color, dash=""):
        pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(xs, ys))
        marks = "".join(f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="3.5" fill="{color}"/>' for a, b in zip(xs, ys))
        style = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{style}/>{marks}'

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{W / 2 - 60}" y="22" text-anchor="middle" font-size="14">weak scaling of sample over MPI ranks</text>',
           f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" fill="none" stroke="#444"/>']
    for p in ranks:
        out.append(f'<text x="{px(p):.1f}" y="{H - BOTTOM + 18}" text-anchor="middle">{p}</text>')
    for k in range(6):
        y = y_hi * k / 5
        out.append(f'<line x1="{LEFT - 4}" x2="{LEFT}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#444"/>')
        out.append(f'<text x="{LEFT - 8}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.2g}</text>')
    out.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 18}" text-anchor="middle">MPI ranks P (fixed particles per rank)</text>')
    out.append(f'<text transform="translate(18,{(TOP + H - BOTTOM) / 2}) rotate(-90)" text-anchor="middle">'
               "particle-steps per second</text>")
    if cores < max(ranks):  # ranks beyond the cores share them: the ideal line stops meaning scaling there
        xc = px(cores + 0.5)
        out.append(f'<line x1="{xc:.1f}" x2="{xc:.1f}" y1="{TOP}" y2="{H - BOTTOM}" stroke="#999" stroke-dasharray="3,3"/>')
        out.append(f'<text x="{xc + 4:.1f}" y="{TOP + 14}" fill="#666">{cores} cores: oversubscribed beyond</text>')
    out.append(line(ranks, ideal, "#999", "6,4"))
    out.append(line(ranks, rate, "#1f77b4"))
    lx = W - RIGHT + 12
    out.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{TOP + 20}" y2="{TOP + 20}" stroke="#1f77b4" stroke-width="2"/>'
               f'<text x="{lx + 30}" y="{TOP + 24}">{label}</text>')
    out.append(f'<line x1="{lx}" x2="{lx + 24}" y1="{TOP + 42}" y2="{TOP + 42}" stroke="#999" stroke-width="2" '
               f'stroke-dasharray="6,4"/><text x="{lx + 30}" y="{TOP + 46}">ideal (P x one rank)</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
