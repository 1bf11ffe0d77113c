// The palette: TensorFlow Playground's orange (-1 / class 0) .. grey (0) .. blue (+1 / class 1).

const ORANGE = [245, 147, 34];
export const GREY = [232, 234, 235];
const BLUE = [8, 119, 189];
export const CLASS_COLORS = [ORANGE, BLUE, [44, 160, 44], [148, 103, 189]]; // the server's MAX_CLASSES is 4
export const LANE_COLORS = ["#0877bd", "#f59322", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
export const TRAIN_LINE = "#555";
export const TEST_LINE = "#e6550d";
export const RATE_LINE = "#183d4e";
export const POSITIVE_WEIGHT = "#0877bd";
export const NEGATIVE_WEIGHT = "#f59322";

// byte 0..255 -> colour along orange .. grey .. blue, computed once
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let b = 0; b < 256; b++) {
    const t = b / 127.5 - 1;
    const end = t < 0 ? ORANGE : BLUE;
    const s = Math.abs(t);
    for (let c = 0; c < 3; c++) lut[b * 3 + c] = GREY[c] * (1 - s) + end[c] * s;
  }
  return lut;
})();

const lutIndex = (b) => Math.max(0, Math.min(255, Math.round(b))) * 3;

export function lutColor(b) {
  const i = lutIndex(b);
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

// Writes the colour of byte `b` into pixel `index` of an ImageData's RGBA array.
export function putLut(data, index, b) {
  const i = lutIndex(b);
  data[index * 4] = LUT[i];
  data[index * 4 + 1] = LUT[i + 1];
  data[index * 4 + 2] = LUT[i + 2];
  data[index * 4 + 3] = 255;
}

// Paints a square image of palette bytes (one byte a pixel, row by row) onto a canvas of
// its size: a neuron's thumbnail, an input's tile.
export function paintSquare(canvas, bytes) {
  const side = Math.round(Math.sqrt(bytes.length));
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(side, side);
  for (let i = 0; i < bytes.length; i++) putLut(img.data, i, bytes[i]);
  if (canvas.width !== side) canvas.width = canvas.height = side;
  ctx.putImageData(img, 0, 0);
}

// A data point's colour: its class, or its target along the palette for regression.
export function pointColor(y, task, targetRange) {
  if (task === "regression") {
    const [lo, hi] = targetRange;
    return lutColor(((y - lo) / (hi - lo || 1)) * 255);
  }
  const c = CLASS_COLORS[Math.round(y)] || GREY;
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
