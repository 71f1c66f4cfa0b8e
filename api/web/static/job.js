// Polls a background job and shows its progress (round page). No inline scripts: CSP.
(function () {
  const box = document.getElementById("job-progress");
  if (!box) return;
  const url = box.dataset.statusUrl;
  const bar = box.querySelector(".progress > div");
  const label = box.querySelector(".job-label");
  const files = box.querySelector(".job-files");
  const fa = (text) => String(text).replace(/\d/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
  const states = { queued: "در صف", running: "در حال اجرا", succeeded: "پایان یافت", failed: "ناموفق" };

  async function poll() {
    let job;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      job = await response.json();
    } catch (err) {
      label.textContent = "وضعیت کار خوانده نشد؛ دوباره تلاش می‌شود…";
      setTimeout(poll, 3000);
      return;
    }
    const percent = Math.round((job.progress || 0) * 100);
    bar.style.width = percent + "%";
    box.dataset.status = job.status;
    let text = states[job.status] || job.status;
    text += " — " + fa(percent) + "٪";
    if (job.message) text += " — " + job.message;
    if (job.error) text += " — " + job.error;
    label.textContent = text;
    if (job.status === "succeeded") {
      files.replaceChildren();
      for (const f of job.files) {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = f.url;
        a.textContent = f.name;
        a.className = "ltr";
        li.appendChild(a);
        files.appendChild(li);
      }
    }
    if (job.status === "queued" || job.status === "running") setTimeout(poll, 1000);
  }
  poll();
})();
