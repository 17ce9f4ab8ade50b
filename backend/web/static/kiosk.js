// The check-in kiosk: check-in by booking reference, or a walk-in's errand, hint, the
// errand's questions (e.g. "Er det dit første pas?": they decide which documents apply) and
// those documents, then a ticket or the list to take home and a time to book. Resets itself
// after the idle time and keeps nothing of the citizen before.
"use strict";
(function () {
  const body = document.body;
  const site = body.dataset.site;
  const idleMs = parseInt(body.dataset.idle, 10) * 1000;
  const TEXTS = JSON.parse(document.getElementById("texts").textContent);
  const ERRANDS = JSON.parse(document.getElementById("errands").textContent);
  const GROUPS = ["id", "licence", "health", "moving", "money", "other"];
  const $ = (id) => document.getElementById(id);
  let lang = "da";
  let idleTimer = null;
  let errand = null;
  let docIndex = 0;
  let answers = {};     // document code -> has it
  let qIndex = 0;
  let qAnswers = {};    // question code -> yes/no
  let docs = [];        // the documents that apply with those answers
  let chosenTime = null;
  let busy = false;

  const t = (key, vals) => {
    let s = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.da[key] || key;
    Object.entries(vals || {}).forEach(([k, v]) => { s = s.split(`{${k}}`).join(String(v)); });
    return s;
  };
  const LOCALES = { da: "da-DK", en: "en-GB", ar: "ar" };
  const dayOf = (iso) => new Intl.DateTimeFormat(LOCALES[lang] || "da-DK",
    { weekday: "short", day: "numeric", month: "short" }).format(new Date(iso + "T12:00:00"));
  const nameOf = (x) => (lang === "da" ? x.name_da : x.name_en);
  const hintOf = (x) => (lang === "da" ? x.hint_da : (x.hint_en || x.hint_da));
  const questionOf = (q) => (lang === "da" ? q.text_da : lang === "ar" ? q.text_ar : q.text_en);
  // a document applies unless the answer to its question rules it out
  const applies = (d) => (d.when ? qAnswers[d.when] !== false
    : d.unless ? qAnswers[d.unless] !== true : true);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function show(id) {
    document.querySelectorAll(".step").forEach((s) => { s.hidden = s.id !== id; });
    const step = $(id);
    const focus = step.querySelector("input:not([hidden]), button.primary, button");
    if (focus) focus.focus();
  }

  function setLang(l) {
    lang = TEXTS[l] ? l : "da";
    document.documentElement.lang = lang;
    document.documentElement.dir = TEXTS[lang].dir;
    document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = t(e.dataset.t); });
    document.querySelectorAll("[data-ph]").forEach((e) => { e.placeholder = t(e.dataset.ph); });
    document.querySelectorAll(".lang").forEach((b) => {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    });
    renderErrands();
    if (errand && !$("s-question").hidden) renderQuestion();
    if (errand && !$("s-doc").hidden) renderDocument();
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return "kiosk-" + crypto.randomUUID();
    return "kiosk-" + Date.now() + "-" + Math.random().toString(36).slice(2);
  }

  async function api(method, path, payload) {
    const headers = { "Accept": "application/json" };
    const opts = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = newKey();
      opts.body = JSON.stringify(payload);
    }
    let r;
    try {
      r = await fetch(`/kiosk/${site}/api/${path}`, opts);
      if (r.status >= 500 && payload !== undefined) {   // unknown: the same key again
        await new Promise((ok) => setTimeout(ok, 1000));
        r = await fetch(`/kiosk/${site}/api/${path}`, opts);
      }
    } catch (e) {
      return { ok: false, status: 0, body: { code: "offline" } };
    }
    let data = {};
    try { data = await r.json(); } catch (e) { data = {}; }
    return { ok: r.ok, status: r.status, body: data };
  }

  function message(text) {
    $("message").textContent = text;
    show("s-message");
  }

  // --- check-in ---------------------------------------------------------------------------
  async function checkIn(ev) {
    ev.preventDefault();
    const ref = $("ref").value.trim().toUpperCase();
    if (!/^[A-Z0-9]{4,12}$/.test(ref) || busy) { $("ref").focus(); return; }
    busy = true;
    const r = await api("POST", "check-in", { booking_ref: ref });
    busy = false;
    $("ref").value = "";
    if (!r.ok) {
      const b = r.body;
      const known = ["too_late", "unknown_booking", "not_today", "not_bookable", "offline"];
      const key = known.includes(b.code) ? b.code : (r.status === 422 ? "unknown_booking" : "error");
      message(t(key, { slot: b.slot, grace: b.grace_minutes, day: b.day }));
      return;
    }
    const a = r.body;
    let early = "";
    if (a.already) {
      early = "";
    } else if (a.early_minutes > 2) {
      early = t("early", { minutes: a.early_minutes, slot: a.slot });
    } else if (a.early_minutes < -2) {
      early = t("late", { minutes: -a.early_minutes, slot: a.slot });
    } else if (a.slot) {
      early = t("on_time", { slot: a.slot });
    }
    showTicket(a, a.already ? t("already", { ticket: a.ticket })
      : t("checked_in", { ticket: a.ticket, time: a.expected }), early);
  }

  function showTicket(a, msg, note) {
    $("ticket-msg").textContent = msg;
    $("ticket-early").textContent = note || "";
    $("t-number").textContent = a.ticket;
    $("t-expected").textContent = a.expected ? t("expected", { time: a.expected }) : "";
    $("t-place").textContent = a.place ? t("place", { place: a.place }) : "";
    $("t-qr").src = a.qr;
    $("t-qr").dataset.url = a.url;
    show("s-ticket");
  }

  // --- walk-in ----------------------------------------------------------------------------
  function renderErrands() {
    const q = ($("search").value || "").trim().toLowerCase();
    const blocks = [];
    GROUPS.forEach((g) => {
      const list = ERRANDS.filter((e) => e.group === g && (!q ||
        e.name_da.toLowerCase().includes(q) || e.name_en.toLowerCase().includes(q)));
      if (!list.length) return;
      const block = el("section", "group");
      block.appendChild(el("h2", null, t("g_" + g)));
      const grid = el("div", "errands");
      list.forEach((e) => {
        const b = el("button", "big errand", nameOf(e));
        b.type = "button";
        b.dataset.code = e.code;
        b.addEventListener("click", () => chooseErrand(e));
        grid.appendChild(b);
      });
      block.appendChild(grid);
      blocks.push(block);
    });
    $("groups").replaceChildren(...blocks);
  }

  function chooseErrand(e) {
    errand = e;
    answers = {};
    qAnswers = {};
    docIndex = 0;
    qIndex = 0;
    if (e.phone || e.self_service) {
      const ways = [];
      if (e.phone) ways.push(t("can_phone"));
      if (e.self_service) ways.push(t("can_self"));
      $("hint-ways").textContent = ways.join(" ");
      $("hint-text").textContent = hintOf(e);
      show("s-hint");
    } else {
      askQuestion();
    }
  }

  // the errand's questions first: their answers decide which documents are asked for
  function askQuestion() {
    const questions = errand.questions || [];
    if (qIndex >= questions.length) {
      docs = errand.documents.filter(applies);
      docIndex = 0;
      askDocument();
      return;
    }
    renderQuestion();
    show("s-question");
  }

  function renderQuestion() {
    const q = errand.questions[qIndex];
    if (q) $("q-text").textContent = questionOf(q);
  }

  function reply(yes) {
    const q = errand.questions[qIndex];
    qAnswers[q.code] = yes;
    qIndex += 1;
    askQuestion();
  }

  function askDocument() {
    if (docIndex >= docs.length) { walkIn(); return; }
    renderDocument();
    show("s-doc");
  }

  function renderDocument() {
    const d = docs[docIndex];
    if (!d) return;
    $("doc-of").textContent = t("doc_of", { n: docIndex + 1, total: docs.length });
    $("doc-name").textContent = nameOf(d);
  }

  function answer(present) {
    const d = docs[docIndex];
    answers[d.code] = present;
    if (!present) { missing(d); return; }
    docIndex += 1;
    askDocument();
  }

  async function walkIn() {
    if (busy) return;
    busy = true;
    const r = await api("POST", "walk-in", { errand: errand.code, documents: answers, answers: qAnswers });
    busy = false;
    if (!r.ok) { message(t(r.body.code === "offline" ? "offline" : "error")); return; }
    showTicket(r.body, t("checked_in", { ticket: r.body.ticket, time: r.body.expected }), "");
  }

  async function missing(doc) {
    $("missing-list").replaceChildren(...docs.map((d) => {
      const li = el("li", d.code === doc.code ? "lacking" : "", nameOf(d));
      return li;
    }));
    $("booked").textContent = "";
    $("book-form").hidden = true;
    $("times").replaceChildren();
    show("s-missing");
    const r = await api("GET", `free-times?errand=${encodeURIComponent(errand.code)}`);
    if (!r.ok || !r.body.times.length) {
      $("times").replaceChildren(el("p", "lead", t(r.ok ? "no_times" : "offline")));
      return;
    }
    $("times").replaceChildren(...r.body.times.map((x) => {
      const b = el("button", "big time", `${dayOf(x.day)} ${x.time}`);
      b.type = "button";
      b.addEventListener("click", () => {
        chosenTime = x;
        $("book-at").textContent = `${dayOf(x.day)} ${x.time}`;
        $("book-form").hidden = false;
        $("b-name").focus();
      });
      return b;
    }));
  }

  async function book(ev) {
    ev.preventDefault();
    if (!chosenTime || busy) return;
    busy = true;
    const r = await api("POST", "book", {
      errand: errand.code, start: chosenTime.start,
      name: $("b-name").value.trim(), phone: $("b-phone").value.trim(),
    });
    busy = false;
    if (!r.ok) { $("booked").textContent = t(r.body.code === "offline" ? "offline" : "error"); return; }
    $("b-name").value = "";
    $("b-phone").value = "";
    $("book-form").hidden = true;
    $("times").replaceChildren();
    $("booked").textContent = t("booked", { day: dayOf(r.body.day), time: r.body.time, ref: r.body.booking_ref });
  }

  // --- reset --------------------------------------------------------------------------------
  function reset() {
    errand = null; answers = {}; docIndex = 0; chosenTime = null; busy = false;
    qAnswers = {}; qIndex = 0; docs = [];
    ["ref", "search", "b-name", "b-phone"].forEach((id) => { $(id).value = ""; });
    ["ticket-msg", "ticket-early", "t-number", "t-expected", "t-place", "doc-name", "doc-of",
     "hint-ways", "hint-text", "booked", "book-at", "message", "q-text"].forEach((id) => { $(id).textContent = ""; });
    $("t-qr").removeAttribute("src");
    delete $("t-qr").dataset.url;
    $("missing-list").replaceChildren();
    $("times").replaceChildren();
    $("book-form").hidden = true;
    setLang("da");
    show("s-start");
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(reset, idleMs);
  }

  ["pointerdown", "keydown", "input"].forEach((e) => document.addEventListener(e, touched, true));
  document.querySelectorAll(".lang").forEach((b) => b.addEventListener("click", () => setLang(b.dataset.lang)));
  $("checkin-form").addEventListener("submit", checkIn);
  $("walkin").addEventListener("click", () => { $("search").value = ""; renderErrands(); show("s-errand"); });
  $("search").addEventListener("input", renderErrands);
  $("self").addEventListener("click", () => message(t("self_done") + " " + hintOf(errand)));
  $("wait").addEventListener("click", askQuestion);
  $("q-yes").addEventListener("click", () => reply(true));
  $("q-no").addEventListener("click", () => reply(false));
  $("doc-yes").addEventListener("click", () => answer(true));
  $("doc-no").addEventListener("click", () => answer(false));
  $("book-form").addEventListener("submit", book);
  document.querySelectorAll(".done, .back").forEach((b) => b.addEventListener("click", reset));
  document.querySelectorAll(".print").forEach((b) => b.addEventListener("click", () => window.print()));
  reset();
  touched();
})();
