// The citizen's own ticket page: the ticket as the server sends it, live.
"use strict";
(function () {
  const body = document.body;
  const code = body.dataset.code;
  const staleMs = parseFloat(body.dataset.stale) * 1000;
  const $ = (id) => document.getElementById(id);
  let lastHeard = Date.now();
  let source = null;
  let wasCalled = "";
  const STATES = {
    booked: "Booket · Booked", waiting: "Venter · Waiting", called: "Kaldt · Called",
    serving: "Hos skranken · At the counter", parked: "Venter · Waiting",
    done: "Færdig · Done", no_show: "Ikke mødt · Did not come", left: "Gået · Left",
    cancelled: "Aflyst · Cancelled",
  };

  function render(t) {
    if (!t) return;
    $("number").textContent = t.ticket;
    $("place").textContent = t.place ? String(t.place) : "–";
    $("expected").textContent = t.expected || "–";
    $("state").textContent = STATES[t.state] || t.state;
    const called = t.state === "called";
    $("called").hidden = !called;
    body.classList.toggle("is-called", called);
    if (called) {
      $("called-da").textContent = `Du bliver kaldt nu — gå til ${t.counter}`;
      $("called-en").textContent = `You are being called — go to ${t.counter}`;
      const key = `${t.counter}/${t.calls}`;
      if (key !== wasCalled && navigator.vibrate) navigator.vibrate([300, 150, 300]);
      wasCalled = key;
    }
  }

  function heard() { lastHeard = Date.now(); $("stale").hidden = true; }

  async function snapshot() {
    try {
      const r = await fetch(`/t/${code}/status`, { cache: "no-store" });
      if (r.ok) { render(await r.json()); heard(); }
    } catch (e) { /* the stream will bring it */ }
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(`/t/${code}/stream`);
    source.addEventListener("state", (ev) => { heard(); render(JSON.parse(ev.data)); });
    source.addEventListener("ping", heard);
    source.addEventListener("refetch", () => { heard(); snapshot(); });
    source.onopen = heard;
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }

  setInterval(() => { if (Date.now() - lastHeard > staleMs) $("stale").hidden = false; }, 1000);
  connect();
})();
