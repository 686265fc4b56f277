// Small SVG charts drawn with the DOM (no library, no inline styles: classes from app.css).
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function round(value) {
  return Math.round(value * 100) / 100;
}

/** The drawing's width in its own units: about the width it is shown at (the page's width less
 * its margins, at most `most`), so that 13-unit text is drawn at about 13 px on a phone too. */
function drawnWidth(most) {
  const room = (typeof window !== "undefined" && window.innerWidth) || most;
  return Math.max(300, Math.min(most, room - 48));
}

/** Horizontal bars: for each item the full bar is its points, the filled part its score. */
export function barChart(items, { earned, points, title }) {
  const width = drawnWidth(640);
  const labelWidth = Math.min(150, Math.round(width * 0.3));
  const barWidth = width - labelWidth - 80;
  const rowHeight = 34;
  const height = items.length * rowHeight + 10;
  const max = Math.max(1, ...items.map((i) => i.points));
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": `${title}: ${items.map((i) => `${i.label} ${round(i.score)}/${round(i.points)}`).join("; ")}`,
  });
  items.forEach((item, index) => {
    const y = 5 + index * rowHeight;
    const full = (item.points / max) * barWidth;
    const got = item.points > 0 ? (Math.max(0, item.score) / max) * barWidth : 0;
    const group = svg("g", { class: "bar", "data-label": item.label });
    group.append(
      svg("text", { x: labelWidth - 8, y: y + 19, class: "bar-label", "text-anchor": "end" }, item.label),
      svg("rect", { x: labelWidth, y: y + 4, width: round(full), height: 22, class: "bar-points", rx: 3 }),
      svg("rect", { x: labelWidth, y: y + 4, width: round(got), height: 22, class: "bar-score", rx: 3 }),
      svg(
        "text",
        { x: labelWidth + full + 6, y: y + 19, class: "bar-value" },
        `${round(item.score)} / ${round(item.points)}`,
      ),
      svg("title", {}, `${item.label}: ${earned} ${round(item.score)}, ${points} ${round(item.points)}`),
    );
    root.append(group);
  });
  return root;
}

/** Vertical bars of totals by year (0–100 scale). */
export function yearChart(points, title) {
  const width = drawnWidth(640);
  const height = 240;
  const left = 40;
  const bottom = 30;
  const plotHeight = height - bottom - 10;
  const step = (width - left - 10) / Math.max(1, points.length);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": `${title}: ${points.map((p) => `${p.label} ${p.value ?? "—"}`).join("; ")}`,
  });
  for (const tick of [0, 60, 80, 90, 100]) {
    const y = 10 + plotHeight - (tick / 100) * plotHeight;
    root.append(
      svg("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, String(tick)),
    );
  }
  points.forEach((p, index) => {
    const value = p.value ?? 0;
    const h = (Math.max(0, Math.min(100, value)) / 100) * plotHeight;
    const x = left + index * step + step * 0.2;
    const group = svg("g", { class: "bar", "data-label": p.label });
    group.append(
      svg("rect", { x: round(x), y: round(10 + plotHeight - h), width: round(step * 0.6), height: round(h), class: "bar-score" }),
      svg("text", { x: round(x + step * 0.3), y: height - 10, "text-anchor": "middle", class: "axis" }, p.label),
      svg("text", { x: round(x + step * 0.3), y: round(6 + plotHeight - h), "text-anchor": "middle", class: "bar-value" }, p.value === null ? "—" : String(p.value)),
    );
    root.append(group);
  });
  return root;
}
