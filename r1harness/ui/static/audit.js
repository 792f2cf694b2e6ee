// Keyboard-driven labelling: a accept, r reject (asks for a reason), e edit in place, s skip.
// Labels are POSTed as JSON; model text is never put into the page as HTML.
(function () {
  const box = document.getElementById("curator");
  if (!box) return;
  const q = box.dataset;
  const message = document.getElementById("message");
  const reasonBox = document.getElementById("reason-box");
  const editBox = document.getElementById("edit-box");

  function next() {
    const url = new URL(window.location.href);
    url.searchParams.delete("item");
    window.location.assign(url.toString());
  }

  async function save(label, reason, edited) {
    const body = { queue_name: q.queue, overlap: q.overlap, annotator: q.annotator,
                   rollout_id: q.rollout, label: label, reason: reason || null, edited_text: edited || null };
    const response = await fetch("/api/annotations", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const result = await response.json();
    if (!response.ok) { message.textContent = result.error || "could not save"; return; }
    message.textContent = "saved " + label;
    next();
  }

  document.getElementById("reason-ok").addEventListener("click", () =>
    save("reject", document.getElementById("reason").value));
  document.getElementById("reason").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); save("reject", ev.target.value); }
  });
  document.getElementById("edit-ok").addEventListener("click", () =>
    save("edit", document.getElementById("edit-reason").value, document.getElementById("edited").value));
  document.getElementById("edited").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.ctrlKey) {
      ev.preventDefault();
      save("edit", document.getElementById("edit-reason").value, ev.target.value);
    }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" || ev.target.tagName === "TEXTAREA" || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === "a") { ev.preventDefault(); save("accept"); }
    else if (ev.key === "r") { ev.preventDefault(); reasonBox.hidden = false; document.getElementById("reason").focus(); }
    else if (ev.key === "e") { ev.preventDefault(); editBox.hidden = false; document.getElementById("edited").focus(); }
    else if (ev.key === "s") { ev.preventDefault(); skip(); }
  });

  // Skip: show the next item this annotator has not labelled, after the current one in queue order.
  function skip() {
    const skipped = JSON.parse(sessionStorage.getItem("r1h-skipped") || "[]");
    skipped.push(q.rollout);
    sessionStorage.setItem("r1h-skipped", JSON.stringify(skipped));
    const url = new URL(window.location.href);
    url.searchParams.set("skip", skipped.join(","));
    url.searchParams.delete("item");
    window.location.assign(url.toString());
  }
})();
