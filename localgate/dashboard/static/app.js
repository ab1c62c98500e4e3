// localgate dashboard: reads /ui/api/…, renders with the DOM (text only, never HTML from data).
import { PALETTE, stackedBars } from "./chart.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000; // accounts and matrix
const USAGE_MS = 60000;
const MAX_ROWS = 300;
const page = {
  csrf: null,
  skew: 0, // server clock minus browser clock, ms
  accounts: [],
  traffic: [],
  paused: false,
  usage: { range: "7d", step: "day", by: "account", metric: "requests" },
  usageAnswer: null,
  colors: new Map(),
};

// -- little helpers -----------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function compact(n) {
  if (n === null || n === undefined) return "?";
  const abs = Math.abs(n);
  for (const [size, unit] of [[1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (abs >= size) return `${(n / size).toFixed(abs >= size * 100 ? 0 : 1).replace(/\.0$/, "")}${unit}`;
  }
  return String(Math.round(n * 100) / 100);
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

const now = () => Date.now() + page.skew;
const ago = (iso) => (iso ? `${duration((now() - Date.parse(iso)) / 1000)} ago` : "never");
const clock = (ts) => new Date(ts * 1000).toLocaleTimeString([], { hour12: false });
const ms = (v) => (v === null || v === undefined ? "–" : v >= 10000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`);

function toast(text, bad = false) {
  const box = $("toast");
  box.textContent = text;
  box.className = bad ? "toast bad" : "toast";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
}

class LoginNeeded extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  if (response.status === 401) throw new LoginNeeded();
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message || `HTTP ${response.status}`);
  return body;
}

function colorOf(key) {
  if (!page.colors.has(key)) page.colors.set(key, PALETTE[page.colors.size % PALETTE.length]);
  return page.colors.get(key);
}

// -- accounts -----------------------------------------------------------------

function bar(label, left, limit, note, reset) {
  const share = limit ? Math.max(0, Math.min(1, left / limit)) : 0;
  const fill = h("i");
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  const cls = share <= 0.02 ? "bar empty" : share < 0.2 ? "bar low" : "bar";
  const resets = reset && Date.parse(reset) > now() ? h("span", { class: "reset" }, " ↻ ", until(reset)) : null;
  return h("div", { class: "bar-row", title: note || "" },
    h("span", { class: "what" }, label),
    h("div", { class: cls }, fill),
    h("span", { class: "fig" }, `${compact(left)} / ${compact(limit)}`, resets));
}

const left = (at) => (at > now() ? duration((at - now()) / 1000) : "now");

function until(iso) {
  return h("b", { "data-until": Date.parse(iso) }, left(Date.parse(iso)));
}

function accountCard(a) {
  const rows = [];
  const several = new Set(a.limits.map((f) => f.model)).size > 1;
  for (const f of a.limits) {
    if (f.remaining === null || f.limit === null) continue;
    const label = several ? `${f.dimension} · ${f.model}` : f.dimension;
    const note = `left of the provider's ${f.dimension} limit for ${f.model}` +
      (f.reset ? `; resets at ${new Date(Date.parse(f.reset)).toLocaleTimeString()}` : "");
    rows.push(bar(label, f.remaining, f.limit, note, f.reset));
  }
  for (const [name, c] of Object.entries(a.configured)) {
    rows.push(bar(`${name} (local)`, Math.max(0, c.limit - c.used), c.limit,
      `your configured ${name}: ${c.used} of ${c.limit} used`));
  }
  let reason = null;
  if (a.state === "cooling" && a.cooldowns.length) {
    reason = h("div", { class: "reason" }, ...a.cooldowns.map((c, i) => h("span", {},
      i ? " · " : "", c.model === "*" ? "all models" : c.model, " back in ", until(c.until), ": ", c.reason)));
  } else if (a.reason) {
    reason = h("div", { class: "reason" }, a.reason);
  }
  const fix = a.fix ? h("div", { class: "fix" }, h("span", { class: "subtle" }, "fix:"), h("code", {}, a.fix)) : null;
  const u = a.usage;
  const meta = h("div", { class: "meta" },
    h("span", {}, h("b", {}, compact(u.requests_last_minute)), " req/min"),
    h("span", {}, h("b", {}, compact(u.tokens_last_minute)), " tok/min"),
    h("span", {}, "today ", h("b", {}, compact(u.requests_today)), " req · ", h("b", {}, compact(u.tokens_today)), " tok"),
    u.last_used ? h("span", { "data-ago": u.last_used }, `last ${ago(u.last_used)}`) : null);
  const buttons = [];
  const act = (action, label, cls) => buttons.push(h("button", {
    type: "button", class: cls, "data-action": action, "data-account": a.name,
    onclick: () => confirmAction(a.name, action, label),
  }, label));
  if (a.enabled) act("disable", "Disable", "danger"); else act("enable", "Enable", "");
  if (a.state === "cooling" || a.state === "invalid") act("reset", "Reset", "");
  if (a.refreshable) act("refresh-token", "Refresh token", "");
  return h("article", { class: `card state-${a.state}`, "data-account": a.name, "data-state": a.state },
    h("div", { class: "card-head" },
      h("span", { class: "acct" }, a.name),
      h("span", { class: "provider" }, a.provider),
      h("span", { class: `pill s-${a.state}` }, a.state)),
    reason, fix,
    rows.length ? h("div", { class: "bars" }, rows) : h("div", { class: "subtle" }, "no limits reported or configured yet"),
    meta,
    h("div", { class: "actions" }, buttons));
}

function renderAccounts(view) {
  page.accounts = view.accounts;
  $("accounts").replaceChildren(...view.accounts.map(accountCard));
  if (!view.accounts.length) {
    $("accounts").replaceChildren(h("div", { class: "panel empty" },
      "No accounts yet: ", h("code", {}, "localgate accounts add NAME --provider anthropic")));
  }
  const s = view.summary;
  $("summary").replaceChildren(...["ok", "cooling", "invalid", "disabled"]
    .filter((state) => s[state])
    .map((state) => h("span", { class: `pill s-${state}` }, `${s[state]} ${state}`)));
  $("accounts-hint").textContent = `${s.accounts} account${s.accounts === 1 ? "" : "s"}`;
  fillSelect($("f-account"), view.accounts.map((a) => a.name), "all accounts");
}

function renderMatrix(m) {
  const table = $("matrix");
  if (!m.models.length) {
    table.replaceChildren(h("tbody", {}, h("tr", {}, h("td", { class: "empty" },
      "Models appear here once requests were served or providers reported limits."))));
    return;
  }
  table.replaceChildren(
    h("thead", {}, h("tr", {}, h("th", {}, "model"), m.accounts.map((name) => h("th", {}, name)))),
    h("tbody", {}, m.models.map((row) => h("tr", {},
      h("td", { class: "model" }, row.model),
      row.cells.map((c) => h("td", { class: "cell" },
        h("span", { class: `s-${c.state}` }, c.until ? ["back in ", until(c.until)] : c.text)))))));
}

async function refresh() {
  const [accounts, matrix] = await Promise.all([api("/ui/api/accounts"), api("/ui/api/matrix")]);
  page.skew = accounts.now * 1000 - Date.now();
  renderAccounts(accounts);
  renderMatrix(matrix);
}

function tick() {
  for (const node of document.querySelectorAll("[data-until]")) {
    node.textContent = left(Number(node.dataset.until));
  }
  for (const node of document.querySelectorAll("[data-ago]")) {
    node.textContent = `last ${ago(node.dataset.ago)}`;
  }
}

// -- actions ------------------------------------------------------------------

const ACTION_TEXT = {
  disable: "Stop routing requests to this account. Its key stays; the config file records the change.",
  enable: "Route requests to this account again and forget its invalid mark and cooldowns.",
  reset: "Forget this account's invalid mark and cooldowns, so the next request tries it.",
  "refresh-token": "Ask Google for a new access token for this account now.",
};

function confirmAction(name, action, label) {
  const dialog = $("confirm");
  $("confirm-title").textContent = `${label} ${name}?`;
  $("confirm-text").textContent = ACTION_TEXT[action];
  $("confirm-ok").textContent = label;
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    try {
      const answer = await api(`/ui/api/accounts/${encodeURIComponent(name)}/${action}`, {
        method: "POST", headers: { "X-CSRF-Token": page.csrf },
      });
      const detail = answer.detail && !answer.detail.ok ? `: ${answer.detail.error}` : "";
      toast(`${name}: ${action} ${answer.ok ? "done" : "failed"}${detail} — now ${answer.state}`, !answer.ok);
    } catch (error) {
      toast(`${name}: ${error.message}`, true);
    }
    refresh().catch(() => {});
  };
  dialog.showModal();
}

// -- live traffic -------------------------------------------------------------

function statusClass(item) {
  if (item.client_gone || item.status >= 500) return "bad";
  return item.status >= 400 ? "warn" : "ok";
}

function passes(item) {
  const account = $("f-account").value;
  const model = $("f-model").value;
  const status = $("f-status").value;
  if (account && item.account !== account) return false;
  if (model && item.model !== model && item.model_used !== model) return false;
  const failed = item.status >= 400 || item.client_gone;
  if (status === "ok" && failed) return false;
  if (status === "error" && !failed) return false;
  return true;
}

// What a media operation made or heard, which its token columns do not show.
function media(item) {
  const parts = [];
  if (item.images) parts.push(`${item.images} image${item.images === 1 ? "" : "s"}`);
  if (item.audio_seconds) parts.push(`${item.audio_seconds} s audio`);
  if (item.speech_characters) parts.push(`${compact(item.speech_characters)} chars spoken`);
  return parts.map((p) => ` · ${p}`).join("");
}

function trafficRows(item, fresh) {
  const served = item.account
    ? [" → ", item.account, item.model_used && item.model_used !== item.model ? h("span", { class: "served" }, ` as ${item.model_used}`) : null]
    : [h("span", { class: "served" }, " → none")];
  const cache = item.cache_read_tokens + item.cache_creation_tokens;
  const row = h("tr", { class: fresh ? "fresh" : "", "data-request": item.id },
    h("td", {}, clock(item.ts)),
    h("td", {}, `${item.dialect} · ${item.op}${item.stream ? " · stream" : ""}${media(item)}`),
    h("td", {}, item.model, served),
    h("td", { class: `status ${statusClass(item)}`, title: item.error || "" }, item.client_gone ? "gone" : item.status),
    h("td", { class: "num" }, ms(item.latency_ms)),
    h("td", { class: "num" }, ms(item.ttfb_ms)),
    h("td", { class: "num" }, compact(item.input_tokens)),
    h("td", { class: "num" }, compact(item.output_tokens)),
    h("td", { class: "num" }, cache ? `${compact(item.cache_read_tokens)}r/${compact(item.cache_creation_tokens)}w` : "–"));
  const rows = [row];
  if (item.failovers.length || item.error) {
    const chain = item.failovers.map((f) => `${f.account} ${f.kind.replace("_", " ")}: ${f.reason}`);
    if (item.error) chain.push(item.error);
    rows.push(h("tr", { class: fresh ? "fresh" : "" }, h("td", {}),
      h("td", { class: "chain", colspan: 8 }, `↳ ${chain.join("  ↳ ")}`)));
  }
  return rows;
}

function renderTraffic() {
  const shown = page.traffic.filter(passes).slice(-MAX_ROWS).reverse();
  $("traffic").tBodies[0].replaceChildren(...shown.flatMap((item) => trafficRows(item, false)));
  $("traffic-empty").hidden = shown.length > 0;
}

function addTraffic(item) {
  page.traffic.push(item);
  if (page.traffic.length > MAX_ROWS * 2) page.traffic.splice(0, page.traffic.length - MAX_ROWS);
  const models = new Set(page.traffic.flatMap((i) => [i.model, i.model_used]).filter(Boolean));
  fillSelect($("f-model"), [...models].sort(), "all models");
  if (page.paused || !passes(item)) return;
  const body = $("traffic").tBodies[0];
  body.prepend(...trafficRows(item, true));
  while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
  $("traffic-empty").hidden = true;
}

function fillSelect(select, values, all) {
  const current = select.value;
  const wanted = ["", ...values];
  const have = [...select.options].map((o) => o.value);
  if (wanted.join("\n") === have.join("\n")) return;
  select.replaceChildren(...wanted.map((v) => h("option", { value: v }, v || all)));
  select.value = wanted.includes(current) ? current : "";
}

function connectFeed() {
  const live = $("live");
  const source = new EventSource("/ui/api/traffic/stream");
  source.onopen = () => {
    live.dataset.state = "live";
    live.lastChild.textContent = "live";
  };
  source.onerror = () => {
    live.dataset.state = "down";
    live.lastChild.textContent = "reconnecting";
  };
  source.addEventListener("request", (event) => {
    addTraffic(JSON.parse(event.data));
    soon(refresh, 400);
    soon(loadUsage, 2500); // the ledger writes its batch within a second
  });
  source.addEventListener("dropped", (event) => {
    toast(`${JSON.parse(event.data).count} requests were too fast to show`);
  });
}

const timers = new Map();
function soon(fn, delay) {
  if (timers.has(fn)) return;
  timers.set(fn, setTimeout(() => { timers.delete(fn); fn().catch(() => {}); }, delay));
}

// -- usage --------------------------------------------------------------------

const MEASURE_NAMES = {
  requests: "requests", errors: "errors", input_tokens: "input", output_tokens: "output",
  cache_read_tokens: "cache read", cache_creation_tokens: "cache write",
};

// What media operations used: shown (totals, table columns, measures) only when some was.
const MEDIA = [
  ["images", "images", compact],
  ["audio_seconds", "audio", duration],
  ["speech_characters", "spoken chars", compact],
];

function mediaUsed(totals) {
  return MEDIA.filter(([key]) => totals[key]);
}

function metricValues(entry, metric) {
  if (metric === "tokens") {
    return entry.input_tokens.map((_, i) => entry.input_tokens[i] + entry.output_tokens[i]
      + entry.cache_read_tokens[i] + entry.cache_creation_tokens[i]);
  }
  return entry[metric];
}

function usageQuery() {
  const u = page.usage;
  return `range=${u.range}&step=${u.step}&by=${u.by}`;
}

async function loadUsage() {
  const answer = await api(`/ui/api/usage?${usageQuery()}`);
  page.usageAnswer = answer;
  $("csv").href = `/ui/api/usage.csv?${usageQuery()}`;
  renderUsage();
}

function ratioSeries(answer) {
  // Cache hits: read / (input + read + write), over every key of a bucket.
  const sum = (m, i) => answer.series.reduce((total, s) => total + s[m][i], 0);
  return answer.buckets.map((_, i) => {
    const prompt = sum("input_tokens", i) + sum("cache_read_tokens", i) + sum("cache_creation_tokens", i);
    return prompt ? sum("cache_read_tokens", i) / prompt : 0;
  });
}

function renderUsage() {
  const answer = page.usageAnswer;
  if (!answer) return;
  const metric = page.usage.metric;
  const ratio = metric === "cache_hit_ratio";
  const series = ratio
    ? [{ key: "all", color: PALETTE[1], values: ratioSeries(answer) }]
    : answer.series.map((s) => ({ key: s.key, color: colorOf(s.key), values: metricValues(s, metric) }));
  const format = ratio ? (v) => `${Math.round(v * 100)}%` : metric === "audio_seconds" ? duration : compact;
  const hourly = answer.step === "hour";
  const every = Math.ceil(answer.buckets.length / 8);
  const tickLabel = (i) => {
    if (i % every) return "";
    const d = new Date(answer.buckets[i] * 1000);
    return hourly && answer.range === "24h"
      ? `${String(d.getHours()).padStart(2, "0")}:00`
      : d.toLocaleDateString([], { month: "short", day: "numeric" });
  };
  const tooltip = $("tooltip");
  stackedBars($("chart"), {
    labels: answer.labels, series, format, tick: tickLabel,
    hover: (i, x, y) => {
      if (i === null) { tooltip.hidden = true; return; }
      const d = new Date(answer.buckets[i] * 1000);
      const when = hourly ? d.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" })
        : d.toLocaleDateString([], { weekday: "short", month: "short", day: "numeric" });
      const lines = series.filter((s) => s.values[i]).map((s) => h("div", { class: "row" },
        h("span", {}, h("i", { class: "swatch", "data-color": s.color }), s.key), h("b", {}, format(s.values[i]))));
      tooltip.replaceChildren(h("div", { class: "head" }, when), ...(lines.length ? lines : [h("div", {}, "nothing")]));
      for (const sw of tooltip.querySelectorAll("[data-color]")) sw.style.background = sw.dataset.color;
      tooltip.hidden = false;
      const left = Math.min(x + 14, window.innerWidth - tooltip.offsetWidth - 8);
      tooltip.style.left = `${left}px`;
      tooltip.style.top = `${Math.max(8, y - tooltip.offsetHeight - 10)}px`;
    },
  });
  const t = answer.totals;
  for (const option of $("metric").querySelectorAll("[data-media]")) option.hidden = !t[option.value];
  $("usage-totals").replaceChildren(
    ...[["requests", compact(t.requests)], ["errors", compact(t.errors)],
      ["input", compact(t.input_tokens)], ["output", compact(t.output_tokens)],
      ["cache read", compact(t.cache_read_tokens)],
      ["cache hits", t.cache_hit_ratio === null ? "–" : `${Math.round(t.cache_hit_ratio * 100)}%`],
      ...mediaUsed(t).map(([key, label, show]) => [label, show(t[key])])]
      .map(([label, value]) => h("div", {}, h("b", {}, value), h("span", {}, label))));
  $("legend").replaceChildren(...series.map((s) => {
    const swatch = h("i");
    swatch.style.background = s.color;
    return h("span", {}, swatch, s.key);
  }));
  renderUsageTable(answer);
}

function renderUsageTable(answer) {
  const sum = (s, m) => s[m].reduce((a, b) => a + b, 0);
  const media = mediaUsed(answer.totals);
  const rows = answer.series.map((s) => {
    const swatch = h("i", { class: "swatch" });
    swatch.style.background = colorOf(s.key);
    return h("tr", {},
      h("td", {}, swatch, s.key),
      h("td", { class: "num" }, compact(sum(s, "requests"))),
      h("td", { class: "num" }, compact(sum(s, "errors"))),
      h("td", { class: "num" }, compact(sum(s, "input_tokens"))),
      h("td", { class: "num" }, compact(sum(s, "output_tokens"))),
      h("td", { class: "num" }, compact(sum(s, "cache_read_tokens"))),
      ...media.map(([key, , show]) => h("td", { class: "num" }, show(sum(s, key)))));
  });
  const heads = ["req", "err", "in", "out", "cache", ...media.map(([, label]) => label)];
  $("usage-table").replaceChildren(
    h("thead", {}, h("tr", {}, h("th", {}, answer.by), ...heads.map((x) => h("th", { class: "num" }, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: heads.length + 1, class: "empty" },
      answer.ledger ? "No requests in this range." : "No usage ledger yet."))));
}

function segmented(id, key) {
  const group = $(id);
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    for (const b of group.children) b.setAttribute("aria-pressed", String(b === button));
    page.usage[key] = button.dataset.value;
    if (key === "range") {
      const step = button.dataset.value === "24h" ? "hour" : "day";
      page.usage.step = step;
      for (const b of $("step").children) b.setAttribute("aria-pressed", String(b.dataset.value === step));
    }
    loadUsage().catch(showError);
  });
}

// -- start --------------------------------------------------------------------

function showError(error) {
  if (error instanceof LoginNeeded) {
    $("login").hidden = false;
    for (const id of ["accounts-section", "matrix-section", "usage-section", "traffic-section"]) $(id).hidden = true;
    return;
  }
  toast(error.message, true);
}

function setupTheme() {
  const root = document.documentElement;
  const saved = localStorage.getItem("localgate-theme");
  if (saved) root.dataset.theme = saved;
  $("theme").addEventListener("click", () => {
    const dark = root.dataset.theme ? root.dataset.theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("localgate-theme", root.dataset.theme);
  });
}

async function start() {
  setupTheme();
  segmented("range", "range");
  segmented("step", "step");
  segmented("by", "by");
  $("metric").addEventListener("change", (e) => { page.usage.metric = e.target.value; renderUsage(); });
  for (const id of ["f-account", "f-model", "f-status"]) $(id).addEventListener("change", renderTraffic);
  $("pause").addEventListener("click", (e) => {
    page.paused = !page.paused;
    e.target.setAttribute("aria-pressed", String(page.paused));
    e.target.textContent = page.paused ? "resume" : "pause";
    if (!page.paused) renderTraffic();
  });
  window.addEventListener("resize", () => soon(async () => renderUsage(), 150));
  try {
    const session = await api("/ui/api/session");
    page.csrf = session.csrf;
    $("version").textContent = `v${session.version}`;
    const [traffic] = await Promise.all([api("/ui/api/traffic?limit=200"), refresh(), loadUsage()]);
    page.traffic = traffic.items;
    renderTraffic();
    const models = new Set(page.traffic.flatMap((i) => [i.model, i.model_used]).filter(Boolean));
    fillSelect($("f-model"), [...models].sort(), "all models");
    connectFeed();
    setInterval(() => refresh().catch(showError), REFRESH_MS);
    setInterval(() => loadUsage().catch(showError), USAGE_MS);
    setInterval(tick, 1000);
    document.body.dataset.ready = "true";
  } catch (error) {
    showError(error);
    document.body.dataset.ready = "login";
  }
}

start();
