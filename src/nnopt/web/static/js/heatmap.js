// The decision heatmap with the data points on it (the output column and the race's lane
// cards), its axes and its colour bar.

import { CLASS_COLORS, GREY, lutColor, pointColor, putLut } from "./colors.js";
import { page } from "./state.js";
import { shownBytes } from "./discretize.js";
import { $, decodeBytes } from "./util.js";

// The server's heatmap is a small square of bytes; it is painted here at its own size,
// then scaled up smoothly onto the visible canvas.
const heatCanvas = document.createElement("canvas");
heatCanvas.width = heatCanvas.height = 64;

// b64: one byte a pixel; for multiclass data the byte is class * 64 + confidence (0..63).
// A neuron's bytes (`neuron`) are always -1..1 along the palette.
export function drawHeatmap(canvas, b64, { small = false, neuron = false } = {}) {
  const data = page.data;
  if (!data) return;
  const ctx = canvas.getContext("2d");
  const W = canvas.width;
  const H = canvas.height;
  if (b64) {
    const bytes = shownBytes(decodeBytes(b64), data.task);
    const side = Math.round(Math.sqrt(bytes.length));
    const hctx = heatCanvas.getContext("2d");
    const img = hctx.createImageData(side, side);
    for (let i = 0; i < bytes.length; i++) {
      if (data.task === "multiclass" && !neuron) putClass(img.data, i, bytes[i], data.classes);
      else putLut(img.data, i, bytes[i]);
    }
    hctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, 0, 0, side, side, 0, 0, W, H);
  } else {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, W, H);
  }
  ctx.drawImage(pointsLayer(W, H, small), 0, 0);
}

// The class's colour, from grey at chance (1/classes) to full at certainty.
function putClass(rgba, index, byte, classes) {
  const conf = (byte & 63) / 63;
  const s = Math.max(0, Math.min(1, (conf - 1 / classes) / (1 - 1 / classes)));
  const col = CLASS_COLORS[byte >> 6] || GREY;
  for (let c = 0; c < 3; c++) rgba[index * 4 + c] = GREY[c] * (1 - s) + col[c] * s;
  rgba[index * 4 + 3] = 255;
}

// The points never move while training: each size is drawn once and then copied per frame.
const pointLayers = new Map();
let layersOf = null; // the page.data the cached layers show

function pointsLayer(W, H, small) {
  const data = page.data;
  const showTest = page.state.showTest;
  const key = `${W}x${H}:${small}:${showTest}`;
  if (layersOf !== data) { pointLayers.clear(); layersOf = data; }
  if (pointLayers.has(key)) return pointLayers.get(key);
  const layer = document.createElement("canvas");
  layer.width = W;
  layer.height = H;
  const ctx = layer.getContext("2d");
  const e = data.extent;
  const radius = small ? 2.2 : 3.3;
  const drawPoints = (rows, stroke) => {
    ctx.lineWidth = 1;
    ctx.strokeStyle = stroke;
    for (const [x0, x1, y] of rows) {
      const px = ((x0 - e[0]) / (e[1] - e[0])) * W;
      const py = ((e[3] - x1) / (e[3] - e[2])) * H;
      ctx.beginPath();
      ctx.arc(px, py, radius, 0, 2 * Math.PI);
      ctx.fillStyle = pointColor(y, data.task, data.target_range);
      ctx.fill();
      ctx.stroke();
    }
  };
  drawPoints(data.train, "#fff");
  if (showTest) drawPoints(data.test, "#222");
  pointLayers.set(key, layer);
  return layer;
}

// The extent's numbers beside the heatmap and the colour bar under it.
export function renderAxes() {
  const data = page.data;
  if (!data) return;
  const [a, b, c, d] = data.extent;
  const f = (v) => {
    const text = Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(1);
    return Number(text) === 0 ? text.replace("-", "") : text; // no "-0.0"
  };
  $("extent-x").innerHTML = `<span>${f(a)}</span><span>x0</span><span>${f(b)}</span>`;
  $("extent-y").innerHTML = `<span>${f(d)}</span><span>x1</span><span>${f(c)}</span>`;
  const bar = $("colorbar");
  if (data.task === "multiclass") {
    const stops = [0, 1, 2].map((k) => pointColor(k, "multiclass")).map((col, i) => `${col} ${i * 33}%, ${col} ${(i + 1) * 33}%`);
    bar.style.background = `linear-gradient(90deg, ${stops.join(", ")})`;
    bar.title = "classes 0, 1, 2";
  } else {
    bar.style.background = `linear-gradient(90deg, ${lutColor(0)}, ${lutColor(128)}, ${lutColor(255)})`;
    bar.title = data.task === "regression" ? `target ${data.target_range[0].toFixed(2)} .. ${data.target_range[1].toFixed(2)}` : "class 0 .. class 1";
  }
}
