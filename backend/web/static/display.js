// The call display: the board as the server sends it (whole states over Server-Sent
// Events), a chime for every new call and recall, and a warning when the stream is quiet.
"use strict";
(function () {
  const body = document.body;
  const site = body.dataset.site;
  const staleMs = parseFloat(body.dataset.stale) * 1000;
  const tz = body.dataset.tz;
  const $ = (id) => document.getElementById(id);
  let lastHeard = Date.now();
  let seen = new Set();      // call keys already announced (only those on the board)
  let first = true;
  let source = null;
  let audio = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
      const t = audio.currentTime;
      [659.25, 880].forEach((f, i) => {
        const o = audio.createOscillator();
        const g = audio.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t + i * 0.35);
        g.gain.exponentialRampToValueAtTime(0.4, t + i * 0.35 + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.35 + 0.6);
        o.connect(g).connect(audio.destination);
        o.start(t + i * 0.35);
        o.stop(t + i * 0.35 + 0.65);
      });
    } catch (e) { /* no sound on this device: the screen still shows it */ }
  }

  function callItem(c, cls) {
    const li = el("li", cls);
    li.dataset.key = c.key;
    li.appendChild(el("span", "ticket", c.ticket));
    li.appendChild(el("span", "arrow", "→"));
    li.appendChild(el("span", "counter", c.counter));
    if (c.calls > 1) li.appendChild(el("span", "recall", "Kaldt igen · Called again"));
    return li;
  }

  function render(board) {
    const fresh = board.current.filter((c) => !seen.has(c.key));
    const current = board.current.map((c, i) => callItem(c, "call" + (i === 0 ? " newest" : "")));
    $("current").replaceChildren(...current);
    $("none").hidden = board.current.length > 0;
    $("recent").replaceChildren(...board.recent.map((c) => {
      const li = callItem(c, "past");
      li.appendChild(el("span", "at", c.at));
      return li;
    }));
    $("waiting").textContent = String(board.waiting);
    const w = board.walkin_wait;
    $("wait").textContent = w ? (w[0] === w[1] ? `ca. ${w[0]} min` : `${w[0]}–${w[1]} min`) : "–";
    if (fresh.length && !first) {
      chime();
      const c = fresh[0];
      $("announce").textContent = `${c.ticket} til ${c.counter}`;
    }
    first = false;
    seen = new Set(board.current.map((c) => c.key));
  }

  function heard() {
    lastHeard = Date.now();
    $("stale").hidden = true;
    body.classList.remove("is-stale");
  }

  async function snapshot() {
    try {
      const r = await fetch(`/device/${site}/board`, { credentials: "same-origin", cache: "no-store" });
      if (r.ok) { render(await r.json()); heard(); }
    } catch (e) { /* the stream will bring it */ }
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(`/device/${site}/stream`);
    source.addEventListener("state", (ev) => { heard(); render(JSON.parse(ev.data)); });
    source.addEventListener("ping", heard);
    source.addEventListener("refetch", () => { heard(); snapshot(); });
    source.onopen = heard;
    source.onerror = () => {
      // EventSource retries by itself after a network error; after an HTTP error it gives
      // up (CLOSED): then start a new one.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
  }

  const clockFmt = new Intl.DateTimeFormat("da-DK", { hour: "2-digit", minute: "2-digit", timeZone: tz });
  setInterval(() => {
    $("clock").textContent = clockFmt.format(new Date());
    if (Date.now() - lastHeard > staleMs) {
      $("stale").hidden = false;
      body.classList.add("is-stale");
    }
  }, 1000);
  $("clock").textContent = clockFmt.format(new Date());
  connect();
})();
