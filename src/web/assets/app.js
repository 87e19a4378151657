// taskq dashboard: the pages read without this script; with it they stay
// current. Each page's <main data-refresh="N"> is fetched again every N
// seconds and swapped in place (not while the tab is hidden or a form field
// has focus); a running job's output is followed over server-sent events.
"use strict";

(function () {
  const main = document.getElementById("live");
  if (!main) return;

  const every = Number(main.dataset.refresh || 0);
  let timer = every > 0 ? setInterval(refresh, every * 1000) : null;
  follow();

  // Each refresh is numbered: an answer older than one applied is dropped
  // (a slow broker can make them overtake one another).
  let asked = 0;
  let applied = 0;

  async function refresh() {
    if (document.hidden) return;
    const active = document.activeElement;
    if (active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return;
    const number = ++asked;
    let response;
    let text;
    try {
      response = await fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      text = await response.text();
    } catch (e) {
      if (number > applied) stale("taskq web does not answer");
      return; // the next round tries again
    }
    if (number < applied) return;
    applied = number;
    const page = new DOMParser().parseFromString(text, "text/html");
    const fresh = page.getElementById("live");
    if (!response.ok || !fresh) {
      // The server says why (the broker is down: 503), as a page or JSON.
      const why = page.querySelector("p.error") || page.body;
      stale(`${response.status}: ${(why && why.textContent || "").trim().slice(0, 300)}`);
      return;
    }
    stale(null);
    // A followed output keeps what the stream brought.
    const output = document.getElementById("output");
    const keep = output && output.dataset.follow ? output : null;
    main.dataset.refresh = fresh.dataset.refresh;
    main.replaceChildren(...fresh.childNodes);
    if (keep) {
      const placeholder = document.getElementById("output");
      if (placeholder) placeholder.replaceWith(keep);
    }
    // A page that has ended (a finished job) stops refreshing.
    if (Number(fresh.dataset.refresh || 0) === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  // A banner while what the page shows may be out of date.
  function stale(why) {
    let banner = document.getElementById("stale");
    if (!why) {
      if (banner) banner.remove();
      return;
    }
    if (!banner) {
      banner = document.createElement("p");
      banner.id = "stale";
      banner.className = "stale";
      banner.setAttribute("role", "alert");
      main.before(banner);
    }
    banner.textContent = `Not current: ${why}. Retrying every few seconds.`;
  }

  function follow() {
    const output = document.getElementById("output");
    if (!output || !output.dataset.follow || !window.EventSource) return;
    const source = new EventSource(output.dataset.follow);
    let fresh = true;
    source.addEventListener("output", (e) => {
      const text = JSON.parse(e.data);
      // The stream starts with the whole tail: it replaces what the page had.
      if (fresh) { output.textContent = ""; fresh = false; }
      const atEnd = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
      output.append(text);
      if (atEnd) output.scrollTop = output.scrollHeight;
    });
    source.addEventListener("attempt", (e) => {
      output.append(`\n--- attempt ${e.data} ---\n`);
    });
    source.addEventListener("end", () => {
      source.close();
      delete output.dataset.follow;
      refresh();
    });
    source.onerror = () => {
      // EventSource reconnects by itself; a 4xx (gone) closes it.
      if (source.readyState === EventSource.CLOSED) delete output.dataset.follow;
    };
  }
})();
