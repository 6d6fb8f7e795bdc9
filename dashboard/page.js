// The page refreshes itself once a second from ?format=json: it writes
// the new values into the elements the server rendered, and reloads when
// the set of cards changed. The formats are dashboard/page.go's.
(() => {
  "use strict";
  document.documentElement.dataset.refresh = "on"; // for tests: the script runs
  const url = location.pathname + "?format=json";
  const live = document.getElementById("live");
  const dig = (o, path) => path.split(".").reduce((v, k) => (v == null ? v : v[k]), o);
  const fixed = (v, d) => v.toFixed(d);
  const fmt = {
    state: (v) => String(v).replaceAll("_", "-"),
    rate: (v, card) => (!card.rates.window_s ? "—" : v < 10 ? fixed(v, 1) + "/s" : fixed(v, 0) + "/s"),
    ms: (v) => (v === 0 ? "0" : v < 1 ? fixed(v * 1000, 0) + " µs" : v < 10 ? fixed(v, 2) + " ms"
      : v < 100 ? fixed(v, 1) + " ms" : v < 1000 ? fixed(v, 0) + " ms" : fixed(v / 1000, 2) + " s"),
  };
  const clock = (at) => at.slice(11, 19);
  const chart = (points, key) => {
    const top = points.reduce((m, p) => Math.max(m, p.p99_ms), 0) || 1;
    return points.map((p) => fixed(180 * (1 - p.age_s / 60), 1) + "," + fixed(39 - 37 * p[key] / top, 1)).join(" ");
  };
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  };

  function update(node, card) {
    node.className = "card s-" + card.status;
    for (const f of node.querySelectorAll("[data-f]")) {
      const v = dig(card, f.dataset.f);
      let text = v == null ? "—" : f.dataset.fmt ? fmt[f.dataset.fmt](v, card) : String(v);
      if (f.dataset.of && card[f.dataset.of] != null) text += " / " + card[f.dataset.of];
      f.textContent = text;
      if (f.hasAttribute("data-alert")) f.classList.toggle("alert", v > 0);
    }
    for (const c of node.querySelectorAll("[data-chart]")) {
      c.setAttribute("points", chart(card.wait.points, c.dataset.chart));
    }
    const list = node.querySelector("[data-list=transitions]");
    if (list) {
      const items = (card.transitions || []).slice().reverse().map((t) => {
        const li = el("li");
        const time = el("time", "", clock(t.at));
        time.dateTime = t.at;
        li.append(time, " " + fmt.state(t.from) + " → " + fmt.state(t.to) + " (" + t.reason + ")");
        return li;
      });
      list.replaceChildren(...(items.length ? items : [el("li", "none", "none yet")]));
    }
  }

  function summary(snap) {
    const items = snap.summary.map((t) => {
      const li = el("li", "s-" + t.status);
      li.append(el("span", "badge", fmt.state(t.state)), " ", el("span", "kind", t.kind.replaceAll("_", " ")), " ",
        el("strong", "", t.name), ": " + t.detail);
      return li;
    });
    document.getElementById("summary").replaceChildren(...(items.length ? items
      : [el("li", "none", "Nothing is refusing calls or in trouble.")]));
  }

  const svg = (tag, attrs) => {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  };
  const partText = (p) => p.name + " " + p.kind + (p.count > 1 ? " ×" + p.count : "")
    + (p.ms > 0 || p.kind !== "refused" ? " " + fmt.ms(p.ms) : "")
    + (p.not_ok > 0 && p.kind !== "refused" ? " (" + p.not_ok + " not ok)" : "");

  function slowest(snap) {
    const items = snap.slowest.map((r) => {
      const li = el("li");
      const time = el("time", "", clock(r.at));
      time.dateTime = r.at;
      li.append(el("span", "req", r.method + " " + r.path), " ", el("span", "kind", String(r.status)), " ",
        el("strong", "", fmt.ms(r.elapsed_ms)), " ", time);
      const labels = r.parts.map(partText);
      const scale = Math.max(r.elapsed_ms, r.parts.reduce((s, p) => s + p.ms, 0), 1e-9);
      const bar = svg("svg", { class: "bar", viewBox: "0 0 300 12", width: "300", height: "12", role: "img", "aria-label": labels.join(", ") });
      let x = 0;
      r.parts.forEach((p, i) => {
        const w = Math.max(300 * p.ms / scale, 2);
        const rect = svg("rect", { class: "k-" + p.kind, x: fixed(x, 1), y: "0", width: fixed(w, 1), height: "12" });
        const title = svg("title", {});
        title.textContent = labels[i];
        rect.append(title);
        bar.append(rect);
        x += w;
      });
      const parts = el("ul", "parts");
      r.parts.forEach((p, i) => {
        const item = el("li");
        item.append(el("span", "swatch k-" + p.kind), labels[i]);
        parts.append(item);
      });
      li.append(bar, parts);
      return li;
    });
    document.getElementById("slowest").replaceChildren(...(items.length ? items
      : [el("li", "none", "None: no request finished in the last minute, or none was offered (serve with httpguard.WithLedger and this dashboard as its Sink).")]));
  }

  function apply(snap) {
    const cards = new Map();
    for (const g of snap.groups) for (const c of g.cards) cards.set(c.id, c);
    const nodes = document.querySelectorAll("article[data-id]");
    if (nodes.length !== cards.size || [...nodes].some((n) => !cards.has(n.dataset.id))) {
      location.reload(); // instances came or went (hosts): render them afresh
      return false;
    }
    for (const n of nodes) update(n, cards.get(n.dataset.id));
    summary(snap);
    slowest(snap);
    const gen = document.getElementById("generated");
    gen.dateTime = snap.generated_at;
    gen.textContent = "at " + clock(snap.generated_at);
    live.textContent = "";
    return true;
  }

  async function tick() {
    try {
      const r = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error("HTTP " + r.status);
      if (!apply(await r.json())) return;
    } catch (e) {
      live.textContent = "Not refreshing: " + e.message + "; trying again.";
    }
    setTimeout(tick, 1000);
  }
  setTimeout(tick, 1000);
})();
