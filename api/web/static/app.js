// Peyvand web UI behaviour (no inline scripts: the CSP allows only files from 'self').
// - the phone menu button; - a character counter on long text fields (data-max);
// - drafts: what is typed in a form with data-draft is kept in this tab's sessionStorage,
//   so a session that expires mid-submit loses nothing (restored after signing in again;
//   cleared once the form went through, on a page with data-clear-drafts, or at sign-out);
// - loading states: a form with data-busy disables its button and says what is happening.
(function () {
  "use strict";
  const fa = (n) => Number(n).toLocaleString("fa-IR");
  const DRAFT = "peyvand-draft:";

  // Menu (phones): a button that opens and closes the menu.
  const toggle = document.getElementById("menu-toggle");
  const menu = document.getElementById("site-menu");
  if (toggle && menu) {
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("open", open);
    });
  }

  // Character counters.
  for (const field of document.querySelectorAll("textarea[data-max]")) {
    const max = Number(field.dataset.max);
    const out = document.getElementById(field.id + "-counter");
    if (!out) continue;
    const show = function () {
      const n = field.value.length;
      out.textContent = fa(n) + " از " + fa(max) + " نویسه";
      out.classList.toggle("over", n > max);
      if (n > max) out.textContent += " — " + fa(n - max) + " نویسه بیش از اندازه";
    };
    field.addEventListener("input", show);
    show();
  }

  // Drafts.
  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }
  function clearDrafts() {
    const s = storage();
    if (!s) return;
    for (let i = s.length - 1; i >= 0; i--) {
      const key = s.key(i);
      if (key && key.startsWith(DRAFT)) s.removeItem(key);
    }
  }
  if (document.body.dataset.clearDrafts) clearDrafts();
  for (const form of document.querySelectorAll("form[action='/logout']")) {
    form.addEventListener("submit", clearDrafts);
  }
  for (const form of document.querySelectorAll("form[data-draft]")) {
    const s = storage();
    if (!s) break;
    const key = DRAFT + form.dataset.draft;
    const fields = Array.from(form.elements).filter(
      (el) => el.name && el.name !== "csrf_token" && el.type !== "file" && el.type !== "hidden"
    );
    const saved = s.getItem(key);
    if (saved) {
      let data = null;
      try { data = JSON.parse(saved); } catch (e) { s.removeItem(key); }
      if (data) {
        for (const el of fields) {
          if (el.type === "checkbox") el.checked = (data.checks || []).includes(el.name + "=" + el.value);
          else if (el.name in (data.values || {})) el.value = data.values[el.name];
          el.dispatchEvent(new Event("input"));
        }
        const note = document.getElementById("draft-restored");
        if (note) note.hidden = false;
      }
    }
    const save = function () {
      const data = { values: {}, checks: [] };
      for (const el of fields) {
        if (el.type === "checkbox") { if (el.checked) data.checks.push(el.name + "=" + el.value); }
        else data.values[el.name] = el.value;
      }
      try { s.setItem(key, JSON.stringify(data)); } catch (e) { /* full: keep going */ }
    };
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", save);
  }

  // Loading states.
  for (const form of document.querySelectorAll("form[data-busy]")) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      const button = form.querySelector("button[type=submit]");
      form.setAttribute("aria-busy", "true");
      if (button) {
        button.disabled = true;
        button.classList.add("busy");
        button.dataset.label = button.textContent;
        button.textContent = form.dataset.busy;
      }
      const status = document.getElementById("busy-status");
      if (status) status.textContent = form.dataset.busy;
    });
  }
  // Links to pages that compute something (suggestions): say so while the next page loads.
  for (const link of document.querySelectorAll("a[data-busy]")) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      link.classList.add("loading");
      link.setAttribute("aria-busy", "true");
      const status = document.getElementById("busy-status");
      if (status) {
        status.textContent = link.dataset.busy;
        status.classList.remove("visually-hidden");
        status.classList.add("notice");
      }
    });
  }
  // Coming back with the Back button: the page may come from the cache with a busy button.
  window.addEventListener("pageshow", function () {
    const status = document.getElementById("busy-status");
    if (status && status.classList.contains("notice")) {
      status.textContent = "";
      status.classList.add("visually-hidden");
      status.classList.remove("notice");
    }
    for (const link of document.querySelectorAll("a.loading")) {
      link.classList.remove("loading");
      link.removeAttribute("aria-busy");
    }
    for (const button of document.querySelectorAll("button.busy")) {
      button.disabled = false;
      button.classList.remove("busy");
      if (button.dataset.label) button.textContent = button.dataset.label;
      const form = button.closest("form");
      if (form) form.removeAttribute("aria-busy");
    }
  });
})();
