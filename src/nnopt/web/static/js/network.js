// The network view: the selected lane's neurons as thumbnails of what each computes over
// the plane, and the weights as links whose colour and width show sign and size.
//
// The neuron +/- buttons in the layer heads carry data-layer / data-neurons; controls.js
// handles their clicks (this module only draws).

import { NEGATIVE_WEIGHT, POSITIVE_WEIGHT, putLut } from "./colors.js";
import { acceptedInput, drawInputImage } from "./features.js";
import { page, selectedLane } from "./state.js";
import { $, decodeBytes, plural, same } from "./util.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE = 32;
const OUT_NODE = 42;
const MIN_WIDTH = 420;
const MARGIN = 40; // left and right of the first and last columns
const TOP = 50; // room for the layer heads

let view = null; // the DOM handles of the built view: {layers, nodes, paths}

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
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  box.appendChild(svg);
  const nodes = [];
  const centers = [];
  layers.forEach((n, k) => {
    const output = k === cols - 1;
    const size = output ? OUT_NODE : NODE;
    const x = colX[k];
    const col = [];
    const cen = [];
    for (let j = 0; j < n; j++) {
      const y = TOP + j * spacing + NODE / 2;
      const input = k === 0 ? acceptedInput(j) : null; // the feature input it is (features.js)
      const node = neuronNode(x, y, size, output, k === 0 ? `input ${input ? input.label : `x${j}`}` : `layer ${k}, neuron ${j + 1}`);
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
  const paths = links(svg, layers, centers);
  view = { layers, nodes, paths };
  $("network-summary").textContent = networkSummary(info);
  page.dirty = true;
}

function neuronNode(x, y, size, output, title) {
  const div = document.createElement("div");
  div.className = "node" + (output ? " output" : "");
  div.style.left = `${x - size / 2}px`;
  div.style.top = `${y - size / 2}px`;
  div.title = title;
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

// One curved path per weight, from the right edge of a node to the left edge of the next
// layer's; paths[k][i][j] is w{k+1}[i, j].
function links(svg, layers, centers) {
  const paths = [];
  for (let k = 1; k < layers.length; k++) {
    const layer = [];
    for (let i = 0; i < layers[k - 1]; i++) {
      const row = [];
      for (let j = 0; j < layers[k]; j++) {
        const [x1, y1, s1] = centers[k - 1][i];
        const [x2, y2, s2] = centers[k][j];
        const a = x1 + s1 / 2;
        const b = x2 - s2 / 2;
        const m = (a + b) / 2;
        const path = document.createElementNS(SVG, "path");
        path.setAttribute("d", `M${a},${y1} C${m},${y1} ${m},${y2} ${b},${y2}`);
        path.setAttribute("stroke", "#ccc");
        path.appendChild(document.createElementNS(SVG, "title"));
        svg.appendChild(path);
        row.push(path);
      }
      layer.push(row);
    }
    paths.push(layer);
  }
  return paths;
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

function drawNeuron(canvas, b64) {
  const bytes = decodeBytes(b64);
  const side = Math.round(Math.sqrt(bytes.length));
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let i = 0; i < bytes.length; i++) putLut(img.data, i, bytes[i]);
  if (canvas.width !== side) canvas.width = canvas.height = side;
  ctx.putImageData(img, 0, 0);
}

// The snapshot's network: {neurons: [per layer, per neuron: b64], weights: {w1, b1, ...}}.
// A frame may fall between a "ready" that rebuilt the view for new layer sizes and the
// snapshot that follows it; the older snapshot's weights do not fit then, and it is skipped.
export function updateNetwork(network) {
  if (!view || !network || !same(network.neurons.map((layer) => layer.length), view.layers.slice(1))) return;
  network.neurons.forEach((layer, k) => {
    const bias = network.weights[`b${k + 1}`];
    layer.forEach((b64, j) => {
      const node = view.nodes[k + 1][j];
      if (!node) return;
      drawNeuron(node.canvas, b64);
      if (bias) node.div.title = `layer ${k + 1}, neuron ${j + 1}: bias b${k + 1}[${j}] = ${bias[j]}`;
    });
  });
  view.paths.forEach((layer, k) => {
    const w = network.weights[`w${k + 1}`];
    if (!w || w.length !== layer.length) return; // a snapshot from before the inputs changed
    layer.forEach((row, i) => row.forEach((path, j) => {
      const v = w[i][j];
      path.setAttribute("stroke", v >= 0 ? POSITIVE_WEIGHT : NEGATIVE_WEIGHT);
      path.setAttribute("stroke-width", Math.min(8, 0.4 + Math.abs(v) * 1.6).toFixed(2));
      path.setAttribute("stroke-opacity", Math.min(1, 0.25 + Math.abs(v) * 0.5).toFixed(2));
      path.firstChild.textContent = `w${k + 1}[${i},${j}] = ${v}`;
    }));
  });
}
