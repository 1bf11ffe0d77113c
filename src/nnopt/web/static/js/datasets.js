// The dataset tiles of the data column: one preview per registered dataset (from the
// server's hello), the upload tile, and which one is selected. Clicks are controls.js's.

import { pointColor } from "./colors.js";
import { choices, page } from "./state.js";
import { $ } from "./util.js";

const TILE = 56;

export function buildDatasetTiles() {
  const box = $("datasets");
  box.innerHTML = "";
  for (const d of choices().datasets) {
    const tile = document.createElement("button");
    tile.className = "dataset";
    tile.dataset.name = d.name;
    tile.title = d.summary;
    const canvas = tileCanvas();
    drawPreview(canvas, page.hello.previews[d.name], d.task);
    tile.append(canvas, d.name);
    box.appendChild(tile);
  }
  const up = document.createElement("button");
  up.className = "dataset";
  up.dataset.name = "upload";
  up.id = "upload-tile";
  up.title = "upload a CSV of points x0,x1,label (label 0 or 1)";
  up.innerHTML = `<div class="upload-icon">&#x2912;</div>upload CSV`;
  box.appendChild(up);
}

// After an upload the tile shows the uploaded points, like the generated datasets' tiles.
export function drawUploadTile(data) {
  const canvas = tileCanvas();
  drawPreview(canvas, { points: data.train.concat(data.test), extent: data.extent, target_range: [0, 1] }, "binary");
  $("upload-tile").replaceChildren(canvas, "uploaded");
}

export function renderDatasets() {
  for (const tile of document.querySelectorAll(".dataset")) {
    tile.classList.toggle("selected", tile.dataset.name === page.state.data.name);
  }
}

function tileCanvas() {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = TILE;
  return canvas;
}

// preview: {points: [[x0, x1, y]...], extent: [x0min, x0max, x1min, x1max], target_range}
function drawPreview(canvas, preview, task) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!preview) return;
  const { points, extent, target_range: tr } = preview;
  for (const [x0, x1, y] of points) {
    const px = ((x0 - extent[0]) / (extent[1] - extent[0])) * canvas.width;
    const py = ((extent[3] - x1) / (extent[3] - extent[2])) * canvas.height;
    ctx.fillStyle = pointColor(y, task, tr);
    ctx.fillRect(px - 1, py - 1, 2.4, 2.4);
  }
}
