// Polls a background job and shows its progress at the top of the round page, keeps the
// past-runs table in step, and re-enables the run button when the job ends. No inline
// scripts: CSP.
(function () {
  "use strict";
  const box = document.getElementById("job-progress");
  if (!box) return;
  const url = box.dataset.statusUrl;
  const bar = box.querySelector(".progress > div");
  const meter = box.querySelector(".progress");
  const label = box.querySelector(".job-label");
  const files = box.querySelector(".job-files");
  const button = document.getElementById("run-scoring") || document.getElementById("run-schedule")
    || document.getElementById("run-embed");
  const row = document.querySelector('#past-runs tr[data-job-id="' + box.dataset.jobId + '"]');
  const fa = (text) => String(text).replace(/\d/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);

  function link(f) {
    const a = document.createElement("a");
    a.href = f.url;
    a.textContent = f.label;
    if (f.name === "report.html") { a.target = "_blank"; a.rel = "noopener"; }
    return a;
  }

  async function poll() {
    let job;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      job = await response.json();
    } catch (err) {
      label.textContent = "وضعیت اجرا خوانده نشد؛ دوباره تلاش می‌شود…";
      setTimeout(poll, 3000);
      return;
    }
    const running = job.status === "queued" || job.status === "running";
    let percent = Math.round((job.progress || 0) * 100);
    // Scoring done but files still being written: not "100%" until the job has ended.
    if (running) percent = Math.min(percent, 99);
    bar.style.width = percent + "%";
    meter.setAttribute("aria-valuenow", String(percent));
    box.dataset.status = job.status;
    let text = job.status_fa + " — " + fa(percent) + "٪";
    if (job.status === "running" && (job.progress || 0) >= 1) text += " — در حال ساختن فایل‌های گزارش…";
    else if (running && job.message) text += " — " + job.message;
    if (job.status === "failed" && job.error) text += " — " + job.error;
    if (job.summary_fa) text += " — " + job.summary_fa;
    label.textContent = text;
    if (row) row.querySelector(".job-state").textContent = job.status_fa + (job.status === "failed" ? " — خطا در اجرا" : "");
    if (!running) {
      if (box.dataset.reloadWhenDone && job.status === "succeeded") {
        window.location.reload();
        return;
      }
      if (files) files.replaceChildren();
      const cell = row ? row.querySelector(".job-links") : null;
      if (cell) cell.replaceChildren();
      job.files.forEach(function (f, i) {
        const li = document.createElement("li");
        li.appendChild(link(f));
        const about = document.createElement("span");
        about.className = "muted";
        about.textContent = " — " + f.about;
        li.appendChild(about);
        if (files) files.appendChild(li);
        if (cell) {
          if (i) cell.appendChild(document.createTextNode("، "));
          cell.appendChild(link(f));
        }
      });
      if (button) {
        button.disabled = false;
        button.removeAttribute("aria-describedby");
        const note = document.getElementById("run-busy");
        if (note) note.remove();
      }
      return;
    }
    if (button) button.disabled = true;
    setTimeout(poll, 1000);
  }
  poll();
})();
