// The network view: the selected lane's neurons as thumbnails of what each computes over
// the plane, the weights as links whose colour and width show sign and size, and each
// neuron's bias as a small square at its lower left. Links and bias squares are drawn on one
// canvas, the neurons' thumbnails on another above it (the inputs' thumbnails, which do not
// change while training, keep canvases of their own). At 16 x 6 neurons the page's
// bottleneck was first a few thousand DOM lines restyled each frame, then a canvas per
// neuron (each its own composited layer, committed each frame), then rasterizing ~1,500
// anti-aliased curves (15 ms a frame in software; lines wider than a pixel cost 3-4 times a
// hairline): the links are drawn by a worker (linkworker.js) on a canvas handed to it, where
// the browser can, and while training they are redrawn with the curves (~15 times a second),
// the thumbnails and the heatmap every frame.
//
// Hovering a link or a bias square shows its value in a card; a click on it makes the card
// an editor whose value is sent to the server ("edit"), which changes the weight in
// training and in Export. Hovering a neuron shows its output in the big heatmap. The
// neuron +/- buttons in the layer heads carry data-layer / data-neurons; controls.js
// handles their clicks.

import { putLut } from "./colors.js";
import { acceptedInput, drawInputImage } from "./features.js";
import { send } from "./connection.js";
import { page, selectedLane } from "./state.js";
import { $, decodeBytes, plural } from "./util.js";
import { BIAS, paintLinks } from "./weightdraw.js";

const NODE = 32;
const OUT_NODE = 42;
const MIN_WIDTH = 420;
const MARGIN = 40; // left and right of the first and last columns
const TOP = 50; // room for the layer heads
const SAMPLES = 16; // points per link for hovering
const HOVER_PX = 5; // a link within this many pixels of the mouse is hovered

// The built view: {layers, nodes, links, biases, thumbs, atlas, canvas (links), thumbCanvas,
// card, network (the last drawn), linkView (its id in the worker, null: drawn here),
// linksBusy, linksPending (weights waiting for the worker)}.
let view = null;
let worker; // the links' worker: undefined until first asked for, null where there is none
let views = 0; // views handed to the worker
let hovered = null; // the neuron under the mouse: [layer, index] (layer >= 1), or null

// Builds the view for the selected lane's layer sizes (after a ready, a lane switch, a resize).
export function buildNetwork() {
  const box = $("network");
  const info = page.lanesInfo[page.state.selected];
  if (!info) return;
  const layers = info.layers;
  const width = Math.max(MIN_WIDTH, box.clientWidth);
  const cols = layers.length;
  const colX = layers.map((_, i) => MARGIN + ((width - 2 * MARGIN) * i) / (cols - 1));
  const spacing = Math.max(...layers) > 10 ? 38 : 44;
  const height = TOP + Math.max(...layers) * spacing + 20;
  box.innerHTML = "";
  box.style.height = `${height}px`;
  const canvas = layerCanvas(width, height);
  const thumbCanvas = layerCanvas(width, height);
  box.append(canvas, thumbCanvas);
  const nodes = [];
  const centers = [];
  const thumbs = []; // [layer, index, left, top, side] of every neuron after the inputs
  layers.forEach((n, k) => {
    const output = k === cols - 1;
    const size = output ? OUT_NODE : NODE;
    const x = colX[k];
    const col = [];
    const cen = [];
    for (let j = 0; j < n; j++) {
      const y = TOP + j * spacing + NODE / 2;
      const input = k === 0 ? acceptedInput(j) : null; // the feature input it is (features.js)
      const node = neuronNode(x, y, size, output, k === 0, k === 0 ? `input ${input ? input.label : `x${j}`}` : `layer ${k}, neuron ${j + 1}`);
      if (k > 0) {
        hoverNeuron(node.div, k, j);
        thumbs.push([k, j, x - size / 2 + 1, y - size / 2 + 1, size - 2]); // inside the 1px border
      }
      box.appendChild(node.div);
      col.push(node);
      cen.push([x, y, size]);
      if (k === 0) {
        if (!input || !drawInputImage(node.canvas, input.name)) drawFeature(node.canvas, j);
        box.appendChild(featureLabel(input ? input.label : `x${j}`, x - size / 2 - 22, y - 7));
      }
    }
    nodes.push(col);
    centers.push(cen);
    box.appendChild(layerHead(k, cols, n, x));
  });
  const card = document.createElement("div");
  card.className = "weight-card";
  card.hidden = true;
  box.appendChild(card);
  const atlas = document.createElement("canvas"); // off the page: one tile per neuron
  const ratio = window.devicePixelRatio || 1;
  thumbCanvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
  const geometry = { links: links(layers, centers), biases: biases(layers, centers) };
  view = { layers, nodes, ...geometry, thumbs, atlas, canvas, thumbCanvas, card, network: null,
    linkView: handOver(canvas, geometry, ratio), linksBusy: false, linksPending: null };
  bindHover(box);
  hovered = null;
  $("network-summary").textContent = networkSummary(info);
  page.dirty = true;
}

// A canvas over the whole view (the links' or the thumbnails'), in CSS pixels.
function layerCanvas(width, height) {
  const canvas = document.createElement("canvas");
  const ratio = window.devicePixelRatio || 1;
  canvas.className = "layer";
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  return canvas;
}

// The links' worker, started on first use; null where the browser cannot hand a canvas to
// one (then the links are drawn here). A worker that fails (it could not load) is dropped
// and the view rebuilt, drawing here: its canvas already belongs to the worker.
function linkWorker() {
  if (worker !== undefined) return worker;
  worker = null;
  if (typeof OffscreenCanvas === "undefined" || !HTMLCanvasElement.prototype.transferControlToOffscreen) return null;
  try {
    worker = new Worker(new URL("./linkworker.js", import.meta.url), { type: "module" });
  } catch (error) {
    return null;
  }
  worker.onmessage = ({ data }) => linksDrawn(data.id);
  worker.onerror = (event) => {
    console.error("nnopt: the links' worker failed; drawing them on the page", event.message);
    worker.terminate();
    worker = null;
    if (view && view.linkView !== null) buildNetwork();
  };
  return worker;
}

// Gives the links' canvas to the worker with the view's geometry; its id there, or null
// when the links are drawn here (the canvas then gets the pixel ratio's transform).
function handOver(canvas, { links, biases }, ratio) {
  const w = linkWorker();
  if (!w) {
    canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
    return null;
  }
  const offscreen = canvas.transferControlToOffscreen();
  const curves = links.map((layer) => layer.map((row) => row.map(({ a, b, m, y1, y2 }) => ({ a, b, m, y1, y2 }))));
  views += 1;
  w.postMessage({ type: "view", id: views, canvas: offscreen, ratio, links: curves, biases }, [offscreen]);
  return views;
}

// A neuron's box (its border, title and hover); an input's holds the canvas of its image, a
// neuron's is transparent over the thumbnails' canvas, which shows its thumbnail.
function neuronNode(x, y, size, output, input, title) {
  const div = document.createElement("div");
  div.className = "node" + (output ? " output" : "") + (input ? "" : " on-canvas");
  div.style.left = `${x - size / 2}px`;
  div.style.top = `${y - size / 2}px`;
  div.title = title;
  if (!input) return { canvas: null, div };
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 32;
  div.appendChild(canvas);
  return { canvas, div };
}

function featureLabel(text, left, top) {
  const label = document.createElement("div");
  label.className = "node-label";
  label.textContent = text;
  label.style.left = `${left}px`;
  label.style.top = `${top}px`;
  return label;
}

// One curve per weight, from the right edge of a node to the left edge of the next
// layer's: links[k][i][j] is w{k+1}[i, j], a cubic Bezier (a, y1) -> (b, y2) with both
// control points at the middle x, and a few points along it for hovering.
function links(layers, centers) {
  const out = [];
  for (let k = 1; k < layers.length; k++) {
    const layer = [];
    for (let i = 0; i < layers[k - 1]; i++) {
      const row = [];
      for (let j = 0; j < layers[k]; j++) {
        const [x1, y1, s1] = centers[k - 1][i];
        const [x2, y2, s2] = centers[k][j];
        const a = x1 + s1 / 2;
        const b = x2 - s2 / 2;
        row.push({ a, b, m: (a + b) / 2, y1, y2, points: bezierPoints(a, y1, b, y2) });
      }
      layer.push(row);
    }
    out.push(layer);
  }
  return out;
}

// B(t) = (1-t)^3 P0 + 3(1-t)^2 t P1 + 3(1-t) t^2 P2 + t^3 P3 with P1 = (m, y1), P2 = (m, y2).
function bezierPoints(a, y1, b, y2) {
  const m = (a + b) / 2;
  const points = [];
  for (let s = 0; s <= SAMPLES; s++) {
    const t = s / SAMPLES;
    const u = 1 - t;
    const x = u * u * u * a + 3 * u * u * t * m + 3 * u * t * t * m + t * t * t * b;
    const y = u * u * u * y1 + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y2;
    points.push([x, y]);
  }
  return points;
}

// biases[k][j]: the square of b{k}[j], left of and below the middle of neuron j of layer k.
function biases(layers, centers) {
  const out = [null];
  for (let k = 1; k < layers.length; k++) {
    out.push(centers[k].map(([x, y, size]) => ({ x: x - size / 2 - BIAS - 1, y: y + size / 2 - BIAS })));
  }
  return out;
}

function networkSummary(info) {
  const hidden = info.layers.length - 2;
  return `${info.layers.join("-")} ${selectedLane().activation} network, ${info.output_activation} output: ` +
    `${plural(hidden, "hidden layer")}, ${info.parameters.toLocaleString("en")} parameters`;
}

function layerHead(k, cols, n, x) {
  const head = document.createElement("div");
  head.className = "layer-head";
  head.style.left = `${x - 45}px`;
  head.style.top = "0px";
  if (k === 0) head.innerHTML = "<div class='row'>&nbsp;</div>features";
  else if (k === cols - 1) head.innerHTML = "<div class='row'>&nbsp;</div>output";
  else {
    // hidden layer k is lane.hidden[k - 1]
    head.innerHTML = `<div class="row"><button class="round tiny" title="add a neuron" data-layer="${k - 1}" data-neurons="1">+</button>` +
      `<button class="round tiny" title="remove a neuron" data-layer="${k - 1}" data-neurons="-1">&minus;</button></div>${plural(n, "neuron")}`;
  }
  return head;
}

// The inputs' thumbnails: x0 grows to the right, x1 upwards.
function drawFeature(canvas, which) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(32, 32);
  for (let r = 0; r < 32; r++) {
    for (let c = 0; c < 32; c++) {
      const t = which === 0 ? c / 31 : 1 - r / 31;
      putLut(img.data, r * 32 + c, t * 255);
    }
  }
  ctx.putImageData(img, 0, 0);
}

// The snapshot's network: {lane, neurons: [per layer, per neuron: b64], weights: {w1, b1, ...}}.
// A frame may fall between a "ready" that rebuilt the view for new layer sizes and the
// snapshot that follows it: a snapshot is drawn only into a view of its own lane and shape.
// The links are redrawn when `linksDue` (always for a new view's first snapshot).
export function updateNetwork(network, linksDue = true) {
  if (!view || !fits(network, view.layers)) return;
  const first = view.network === null;
  view.network = network;
  network.neurons.forEach((layer, k) => {
    const bias = network.weights[`b${k + 1}`];
    if (!bias) return;
    layer.forEach((_, j) => {
      const div = view.nodes[k + 1][j].div;
      const title = `layer ${k + 1}, neuron ${j + 1}: bias b${k + 1}[${j}] = ${shown(bias[j])}`;
      if (div.title !== title) div.title = title;
    });
  });
  paintAtlas(network.neurons);
  drawThumbs();
  if (linksDue || first) drawLinks(network.weights);
  if (view.card.dataset.pinned !== "1" && !view.card.hidden) showCard(view.card.item);
}

// Whether a snapshot's network has the view's lane and shape: a thumbnail per neuron of
// every layer after the inputs, w{k} of [layers[k-1]][layers[k]] and b{k} of [layers[k]].
export function fits(network, layers) {
  if (!network || network.lane !== page.state.selected || !Array.isArray(network.neurons)) return false;
  if (network.neurons.length !== layers.length - 1) return false;
  return layers.slice(1).every((n, i) => {
    const k = i + 1;
    const w = network.weights && network.weights[`w${k}`];
    const b = network.weights[`b${k}`];
    return network.neurons[i].length === n && Array.isArray(w) && w.length === layers[i] &&
      w.every((row) => Array.isArray(row) && row.length === n) && (b === undefined || (Array.isArray(b) && b.length === n));
  });
}

// A weight as shown: four decimals at most (the server sends them rounded so, but a
// float32 printed in full reads 0.3926999866962433).
export const shown = (v) => (Number.isFinite(v) ? String(Number(v.toFixed(4))) : String(v));

// Every neuron's bytes (palette bytes, a square each, row by row) into the atlas: one tile
// per neuron, one below the other, in one putImageData.
function paintAtlas(neurons) {
  const tiles = view.thumbs.map(([k, j]) => decodeBytes(neurons[k - 1][j]));
  if (!tiles.length) return;
  const side = Math.round(Math.sqrt(tiles[0].length));
  const atlas = view.atlas;
  if (atlas.width !== side || atlas.height !== side * tiles.length) {
    atlas.width = side;
    atlas.height = side * tiles.length;
  }
  const ctx = atlas.getContext("2d");
  const img = ctx.createImageData(side, side * tiles.length);
  let at = 0;
  for (const bytes of tiles) {
    for (let i = 0; i < bytes.length; i++) putLut(img.data, at + i, bytes[i]);
    at += side * side;
  }
  ctx.putImageData(img, 0, 0);
}

// The atlas's tiles onto the thumbnails' canvas, each scaled (smoothly) into its node's box
// (each tile covers its box: nothing to clear).
function drawThumbs() {
  const ctx = view.thumbCanvas.getContext("2d");
  const side = view.atlas.width;
  ctx.imageSmoothingEnabled = true;
  view.thumbs.forEach(([, , left, top, size], t) => {
    ctx.drawImage(view.atlas, 0, t * side, side, side, left, top, size, size);
  });
}

// Draws the links and bias squares of `weights`: here, or by the worker, one drawing at a
// time (weights that come while it draws wait, and only the latest is drawn next).
function drawLinks(weights) {
  if (view.linkView === null) {
    paintLinks(view.canvas.getContext("2d"), view.links, view.biases, weights);
    return;
  }
  if (view.linksBusy) {
    view.linksPending = weights;
    return;
  }
  view.linksBusy = true;
  worker.postMessage({ type: "draw", id: view.linkView, weights });
}

function linksDrawn(id) {
  if (!view || view.linkView !== id) return;
  view.linksBusy = false;
  const next = view.linksPending;
  view.linksPending = null;
  if (next) drawLinks(next);
}

// ---------------------------------------------------------------- hovering and editing

// The neuron whose output the big heatmap shows instead of the model's: [layer, index], or null.
export function hoveredNeuron() {
  if (!hovered || !view || !view.network) return null;
  const [k, j] = hovered;
  const layer = view.network.neurons[k - 1];
  return layer && layer[j] !== undefined ? { layer: k, index: j, bytes: layer[j] } : null;
}

function hoverNeuron(div, k, j) {
  div.addEventListener("mouseenter", () => { hovered = [k, j]; page.dirty = true; });
  div.addEventListener("mouseleave", () => { hovered = null; page.dirty = true; });
}

// What is under the point (x, y) of the network box: a bias square or the nearest link.
// {name, index: [i, j] | [j], label}, or null.
export function itemAt(x, y) {
  if (!view) return null;
  for (let k = 1; k < view.biases.length; k++) {
    const j = view.biases[k].findIndex((sq) => x >= sq.x - 1 && x <= sq.x + BIAS + 1 && y >= sq.y - 1 && y <= sq.y + BIAS + 1);
    if (j >= 0) return { name: `b${k}`, index: [j], x, y };
  }
  let best = null;
  let bestDistance = HOVER_PX * HOVER_PX;
  view.links.forEach((layer, k) => layer.forEach((row, i) => row.forEach((link, j) => {
    if (x < link.a - HOVER_PX || x > link.b + HOVER_PX) return;
    for (const [px, py] of link.points) {
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestDistance) { bestDistance = d; best = { name: `w${k + 1}`, index: [i, j], x, y }; }
    }
  })));
  return best;
}

// The value of a weight or bias in the last drawn snapshot.
function valueOf(item) {
  const p = view.network && view.network.weights[item.name];
  if (!p) return undefined;
  return item.index.length === 2 ? p[item.index[0]][item.index[1]] : p[item.index[0]];
}

const itemName = (item) => `${item.name}[${item.index.join(",")}]`;

function bindHover(box) {
  const where = (event) => {
    const r = box.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  };
  box.onmousemove = (event) => {
    if (view.card.dataset.pinned === "1" || event.target.closest(".weight-card")) return;
    const item = itemAt(...where(event));
    if (item) showCard(item); else view.card.hidden = true;
  };
  box.onmouseleave = () => { if (view.card.dataset.pinned !== "1") view.card.hidden = true; };
  box.onclick = (event) => {
    if (event.target.closest(".weight-card") || event.target.closest("button")) return;
    const item = itemAt(...where(event));
    if (item) editCard(item); else closeCard();
  };
}

function placeCard(card, item) {
  card.style.left = `${item.x + 12}px`;
  card.style.top = `${item.y + 10}px`;
  card.hidden = false;
}

function showCard(item) {
  const card = view.card;
  card.item = item;
  card.dataset.pinned = "0";
  card.textContent = `${itemName(item)} = ${shown(valueOf(item))}` + (item.name[0] === "b" ? " (bias)" : "");
  placeCard(card, item);
}

// The card as an editor: Enter sends the value, Escape closes it.
export function editCard(item) {
  const card = view.card;
  card.item = item;
  card.dataset.pinned = "1";
  card.innerHTML = `<label>${itemName(item)}</label><input type="text" inputmode="decimal" size="8">` +
    `<span class="card-note muted"></span>`;
  const input = card.querySelector("input");
  input.value = shown(valueOf(item));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") return closeCard();
    if (event.key !== "Enter") return;
    const value = Number(input.value);
    if (input.value.trim() === "" || !Number.isFinite(value)) {
      card.querySelector(".card-note").textContent = "a number, please";
      return;
    }
    send({ type: "edit", lane: page.state.selected, name: item.name, index: item.index, value });
    closeCard();
  });
  if (page.state.weights === "ema") card.querySelector(".card-note").textContent = "edits the raw weight";
  placeCard(card, item);
  input.focus();
  input.select();
}

function closeCard() {
  if (!view) return;
  view.card.dataset.pinned = "0";
  view.card.hidden = true;
}
