// The feature input tiles of the data column (TensorFlow Playground's x₁, x₁², sin x₁ ...):
// one tile per input the server registers (hello.choices.inputs), each showing the input
// over the plane (ready's data.input_images); a click toggles it in page.state.data.inputs.
// The network view's input nodes show the accepted inputs the same way.

import { setData } from "./changes.js";
import { paintSquare } from "./colors.js";
import { showError } from "./errors.js";
import { choices, page } from "./state.js";
import { $, decodeBytes } from "./util.js";

export function buildFeatureTiles() {
  const box = $("features");
  box.innerHTML = "";
  for (const f of choices().inputs) {
    const tile = document.createElement("button");
    tile.className = "feature";
    tile.dataset.input = f.name;
    tile.title = `${f.formula}: click to feed it in or leave it out`;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 32;
    const label = document.createElement("span");
    label.textContent = f.label;
    tile.append(canvas, label);
    box.appendChild(tile);
  }
}

export function bindFeatures() {
  $("features").addEventListener("click", (event) => {
    const tile = event.target.closest(".feature");
    if (tile) toggleInput(tile.dataset.input);
  });
}

// The inputs stay in the registry's order; the network needs at least one.
export function toggleInput(name) {
  const now = page.state.data.inputs;
  if (now.length === 1 && now[0] === name) return showError("the network needs at least one input feature");
  const next = choices().inputs.map((f) => f.name).filter((n) => (n === name) !== now.includes(n));
  setData("inputs", next);
}

let drawnFor = null; // the page.data whose images the tiles show

export function renderFeatures() {
  const on = page.state.data.inputs;
  for (const tile of document.querySelectorAll("#features .feature")) {
    tile.classList.toggle("on", on.includes(tile.dataset.input));
  }
  if (!page.data || drawnFor === page.data) return;
  drawnFor = page.data;
  for (const tile of document.querySelectorAll("#features .feature")) {
    drawInputImage(tile.querySelector("canvas"), tile.dataset.input);
  }
}

// The accepted setup's j-th input: its name and label (the network view's input nodes).
export function acceptedInput(j) {
  const names = page.accepted && page.accepted.data.inputs;
  const name = names ? names[j] : undefined;
  const spec = name && choices().inputs.find((f) => f.name === name);
  return spec ? { name, label: spec.label } : null;
}

// Paints an input's values over the plane; false when the data has no image of it.
export function drawInputImage(canvas, name) {
  const b64 = page.data && page.data.input_images && page.data.input_images[name];
  if (!b64) return false;
  paintSquare(canvas, decodeBytes(b64));
  return true;
}
