// The hand-in form: drag and drop, and signing in the browser with WebCrypto Ed25519.
// The private key file is read and used here only; it is never sent anywhere.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const exportInput = $("export"), manifestInput = $("manifest");
  const signBox = $("sign-browser"), keyLabel = $("key-label"), keyInput = $("key-file");
  const error = $("sign-error");

  $("source").addEventListener("change", () => { $("cli-source").textContent = $("source").value; });
  signBox.addEventListener("change", () => {
    keyLabel.hidden = !signBox.checked;
    $("manifest-label").hidden = signBox.checked;
  });

  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    for (const file of e.dataTransfer.files) {
      const target = file.name.endsWith(".manifest.json") ? manifestInput : exportInput;
      const list = new DataTransfer();
      list.items.add(file);
      target.files = list.files;
    }
  });

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function pemBody(text) {
    const match = text.match(/-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/);
    if (!match) throw new Error("not a PEM private key (PKCS#8)");
    const bin = atob(match[1].replace(/\s+/g, ""));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function b64(buffer) {
    return btoa(String.fromCharCode(...new Uint8Array(buffer)));
  }

  async function signInBrowser() {
    const file = exportInput.files[0], keyFile = keyInput.files[0];
    if (!file || !keyFile) throw new Error("choose the export and your key file");
    const key = await crypto.subtle.importKey(
      "pkcs8", pemBody(await keyFile.text()), { name: "Ed25519" }, true, ["sign"]);
    const publicX = (await crypto.subtle.exportKey("jwk", key)).x;
    const localSha = hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    const body = new FormData();
    body.append("csrf", form.dataset.csrf);
    body.append("source", $("source").value);
    body.append("sign", "browser");
    body.append("public_key", publicX);
    body.append("export", file, file.name);
    const sent = await fetch("/uploads", {
      method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin" });
    const answer = await sent.json();
    if (!answer.draft) {
      if (answer.url && !answer.error) { window.location = answer.url; return; }
      throw new Error(answer.message || answer.error || "refused");
    }
    if (answer.draft.sha256 !== localSha) throw new Error("the portal received other bytes than this file");
    const signature = await crypto.subtle.sign(
      { name: "Ed25519" }, key, new TextEncoder().encode(answer.draft.payload));
    const done = await fetch(answer.url + "/signature", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf,
                 Accept: "application/json" },
      body: JSON.stringify({ signature: b64(signature) }) });
    const result = await done.json();
    if (!result.url) throw new Error(result.error || "refused");
    window.location = result.url;
  }

  form.addEventListener("submit", (e) => {
    if (!signBox.checked) return;
    e.preventDefault();
    error.hidden = true;
    $("submit").disabled = true;
    $("submit").textContent = form.dataset.signing;
    signInBrowser().catch((err) => { fail(err.message); $("submit").disabled = false; });
  });
})();
