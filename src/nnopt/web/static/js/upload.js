// A CSV of points x0,x1,label uploaded to this tab's session; on success the data becomes
// "upload" and a setup follows.

import { commit, fitLosses } from "./changes.js";
import { showError } from "./errors.js";
import { page } from "./state.js";
import { $ } from "./util.js";

function showStatus(text, kind = "") {
  const status = $("upload-status");
  status.textContent = text;
  status.className = "upload-status" + (kind ? ` ${kind}` : "");
}

function fail(message) {
  showStatus(message, "bad");
  showError(message);
}

export async function uploadFile(file) {
  const limit = page.hello.limits.upload_bytes;
  if (file.size > limit) return fail(`upload: ${file.name} is ${file.size} bytes; at most ${limit}`);
  showStatus(`uploading ${file.name}…`);
  let reply;
  try {
    const response = await fetch(`/api/upload/${page.session}`, {
      method: "POST", headers: { "Content-Type": "text/csv" }, body: await file.arrayBuffer(),
    });
    reply = await response.json();
  } catch (err) {
    return fail(`upload: the server did not answer (${err})`);
  }
  if (!reply.ok) return fail(reply.error);
  showStatus(`${file.name}: ${reply.points} points (${reply.labels["0"]} of class 0, ${reply.labels["1"]} of class 1)`, "good");
  page.state.data.name = "upload";
  page.state.data.n_samples = 0;
  fitLosses();
  commit(true);
}
