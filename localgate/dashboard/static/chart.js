// Stacked bar chart drawn as SVG, with a hover band per bucket. No library.
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

// A "nice" axis maximum and step: 1, 2 or 5 times a power of ten.
function niceScale(max, ticks = 4) {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return { top: step * Math.ceil(max / step), step };
}

/**
 * Draw `series` ([{key, color, values: []}]) stacked over `labels` into `box`.
 * `format(v)` writes a value, `tick(i)` an x label (or "" to skip),
 * `hover(i, x, y)` is called with the bucket under the pointer (null on leave).
 */
export function stackedBars(box, { labels, series, format, tick, hover }) {
  const width = Math.max(box.clientWidth, 280);
  const height = box.clientHeight > 0 && box.clientHeight < 400 ? box.clientHeight : 240;
  const pad = { left: 46, right: 8, top: 10, bottom: 22 };
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const n = labels.length;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const { top, step } = niceScale(Math.max(0, ...totals));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  for (let v = 0; v <= top + step / 2; v += step) {
    el("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }, svg);
    const text = el("text", { class: "axis", x: pad.left - 6, y: y(v) + 3.5, "text-anchor": "end" }, svg);
    text.textContent = format(v);
  }
  const slot = plotW / Math.max(n, 1);
  const barW = Math.max(1, Math.min(slot * 0.72, 42));
  const bars = el("g", {}, svg);
  labels.forEach((_, i) => {
    let base = 0;
    const x = pad.left + slot * i + (slot - barW) / 2;
    for (const s of series) {
      const v = s.values[i] || 0;
      if (v <= 0) continue;
      const h = Math.max((v / top) * plotH, 1);
      el("rect", { class: "seg", x, y: y(base) - h, width: barW, height: h, fill: s.color,
        rx: Math.min(2, barW / 4), "data-key": s.key, "data-bucket": i, "data-value": v }, bars);
      base += v;
    }
    const label = tick(i);
    if (label) {
      const text = el("text", { class: "axis", x: pad.left + slot * i + slot / 2, y: height - 6,
        "text-anchor": "middle" }, svg);
      text.textContent = label;
    }
  });
  const band = el("rect", { class: "hot", x: 0, y: pad.top, width: slot, height: plotH,
    visibility: "hidden" }, svg);
  svg.addEventListener("pointermove", (event) => {
    const rect = svg.getBoundingClientRect();
    const px = ((event.clientX - rect.left) / rect.width) * width;
    const i = Math.floor((px - pad.left) / slot);
    if (i < 0 || i >= n) {
      band.setAttribute("visibility", "hidden");
      hover(null);
      return;
    }
    band.setAttribute("x", pad.left + slot * i);
    band.setAttribute("visibility", "visible");
    hover(i, event.clientX, event.clientY);
  });
  svg.addEventListener("pointerleave", () => {
    band.setAttribute("visibility", "hidden");
    hover(null);
  });
  svg.dataset.total = String(totals.reduce((a, b) => a + b, 0));
  box.replaceChildren(svg);
}

// Colours for series, readable on light and dark backgrounds.
export const PALETTE = ["#4f7fe0", "#2fb380", "#e39a2f", "#d35d8c", "#8a63d2", "#2aa8c4",
  "#b6b23a", "#e0684f", "#6d8199", "#58b957"];
