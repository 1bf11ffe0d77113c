// The loss landscape, live: for a model with exactly two numbers (the lecture's yogurt fit
// y = x·w), the total training loss over (w1, w2), sent by the server with "ready", and each
// lane's path across it as it trains (its raw numbers, the snapshot lanes' "point"): the
// lecture's "try other optimizers" made visible, one path per lane of a race.
//
// page.landscape  {names, a, b, total} or null;  page.paths  per lane: [[a, b], ...]

import { LANE_COLORS } from "./colors.js";
import { page } from "./state.js";
import { $ } from "./util.js";

const PATH_MAX = 2000; // points per lane; a longer path keeps every other one
const surface = document.createElement("canvas"); // the grid at its own size
let surfaceOf = null; // the landscape the surface canvas shows

// Wraps the message handlers: "ready" brings the landscape (or none), "snapshot" the points.
export function withLandscape(handlers) {
  return {
    ...handlers,
    ready(m) {
      page.landscape = m.landscape || null;
      if (m.reset || !page.paths || page.paths.length !== m.lanes.length) page.paths = m.lanes.map(() => []);
      handlers.ready(m);
    },
    snapshot(m) {
      m.lanes.forEach((lane, i) => addPoint(i, lane.point));
      handlers.snapshot(m);
    },
  };
}

function addPoint(i, point) {
  if (!point || !page.paths || !page.paths[i]) return;
  const path = page.paths[i];
  const last = path[path.length - 1];
  if (last && last[0] === point[0] && last[1] === point[1]) return;
  path.push(point);
  if (path.length > PATH_MAX) page.paths[i] = path.filter((_, k) => k % 2 === 0 || k === path.length - 1);
}

// Called by the draw loop.
export function drawLandscape() {
  const land = page.landscape;
  $("landscape-view").hidden = !land;
  if (!land) return;
  const canvas = $("landscape");
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  if (surfaceOf !== land) paintSurface(land);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(surface, 0, 0, W, H);
  const [a0, a1] = [land.a[0], land.a[land.a.length - 1]];
  const [b0, b1] = [land.b[0], land.b[land.b.length - 1]];
  const px = (a) => ((a - a0) / (a1 - a0)) * W;
  const py = (b) => H - ((b - b0) / (b1 - b0)) * H;
  (page.paths || []).forEach((path, i) => {
    if (!path.length) return;
    ctx.strokeStyle = LANE_COLORS[i % LANE_COLORS.length];
    ctx.lineWidth = 2;
    ctx.beginPath();
    path.forEach(([a, b], k) => (k ? ctx.lineTo(px(a), py(b)) : ctx.moveTo(px(a), py(b))));
    ctx.stroke();
    ctx.beginPath(); // the start: a ring
    ctx.arc(px(path[0][0]), py(path[0][1]), 5, 0, 2 * Math.PI);
    ctx.stroke();
    const [a, b] = path[path.length - 1];
    ctx.fillStyle = ctx.strokeStyle;
    ctx.beginPath();
    ctx.arc(px(a), py(b), 4, 0, 2 * Math.PI);
    ctx.fill();
  });
  $("landscape-axes").textContent =
    `${land.names[0]} from ${a0.toFixed(2)} to ${a1.toFixed(2)} (across) · ${land.names[1]} from ${b0.toFixed(2)} to ${b1.toFixed(2)} (up)`;
}

// The loss, light (low) to dark (high); row 0 of the grid is the lowest b.
function paintSurface(land) {
  const n = land.a.length;
  const m = land.b.length;
  surface.width = n;
  surface.height = m;
  // Coloured by rank (each shade covers as many grid points as the next), so the valley
  // stays visible however steep the walls are; the rank order is the loss's order.
  const sorted = land.total.flat().filter((v) => v !== null).sort((x, y) => x - y);
  const rank = (v) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < v) lo = mid + 1; else hi = mid; }
    return lo / Math.max(sorted.length - 1, 1);
  };
  const ctx = surface.getContext("2d");
  const img = ctx.createImageData(n, m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const v = land.total[i][j];
      const t = v === null ? 1 : rank(v);
      const k = ((m - 1 - i) * n + j) * 4;
      img.data[k] = 255 - 200 * t;
      img.data[k + 1] = 248 - 170 * t;
      img.data[k + 2] = 220 - 90 * t;
      img.data[k + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  surfaceOf = land;
}
