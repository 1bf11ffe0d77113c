// Getting a setup out of the page and into it: the export dialog (TOML config and
// weights JSON, with downloads), the import dialog, and the Copy link button.

import { send } from "./connection.js";
import { page } from "./state.js";
import { $ } from "./util.js";

export function bindTransfer() {
  $("export").addEventListener("click", () => send({ type: "export" }));
  $("open-import").addEventListener("click", () => { $("import-error").textContent = ""; $("import-dialog").showModal(); });
  $("import-file").addEventListener("change", async () => {
    const file = $("import-file").files[0];
    if (file) $("import-text").value = await file.text();
  });
  $("do-import").addEventListener("click", () => {
    $("import-error").textContent = "";
    send({ type: "import", toml: $("import-text").value });
  });
  $("copy-link").addEventListener("click", copyLink);
}

async function copyLink() {
  const button = $("copy-link");
  try { await navigator.clipboard.writeText(location.href); button.textContent = "Link copied"; }
  catch { button.textContent = "Copy from the address bar"; }
  setTimeout(() => { button.textContent = "Copy link"; }, 2000);
}

// The server's "export": {lane, toml, weights, which}.
export function showExport(m) {
  $("export-lane").textContent = page.state.lanes.length > 1 ? `(lane ${m.lane + 1})` : "";
  $("export-toml").value = m.toml;
  const weightsText = JSON.stringify(m.weights, null, 1);
  $("export-weights").value = weightsText;
  const weightsName = m.which === "ema" ? "weights-ema.json" : "weights.json";
  $("weights-label").textContent = `${weightsName} (${m.which} weights)`;
  $("download-weights").textContent = `Download ${weightsName}`;
  $("download-toml").onclick = () => download("playground.toml", m.toml, "application/toml");
  $("download-weights").onclick = () => download(weightsName, weightsText, "application/json");
  $("export-dialog").showModal();
  $("export-toml").scrollTop = 0;
  $("export-weights").scrollTop = 0;
}

export function showImportError(message) {
  $("import-error").textContent = message;
}

export function closeImport() {
  $("import-dialog").close();
}

function download(name, text, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
