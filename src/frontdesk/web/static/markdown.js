// A small Markdown renderer that builds DOM nodes and never parses HTML.
//
// Every piece of model output ends up in a Text node (or in textContent), so
// "<script>" or "<img onerror=...>" in an answer is shown as text. Links are
// resolved with the browser's own URL parser and kept only when they are
// http(s); images are never loaded (they become links), so an answer cannot
// make the browser fetch a URL on its own.

import { MAX_DEPTH, externalLink, renderInline, safeUrl } from "./markdown-inline.js";

export { externalLink, safeUrl };

const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:([ \t]+)(.*))?$/;
const TABLE_DELIMITER = /^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$/;

/**
 * Render Markdown `source` into a DocumentFragment.
 * options.citations: array of {index, title, url} used to link "[1]" markers.
 */
export function renderMarkdown(source, options = {}) {
  const ctx = {
    citations: new Map((options.citations || []).map((c) => [Number(c.index), c])),
    inLink: false,
  };
  const fragment = document.createDocumentFragment();
  const text = String(source ?? "")
    .replace(/\r\n?/g, "\n")
    .replace(/^\t+/gm, (tabs) => "    ".repeat(tabs.length));
  renderBlocks(text.split("\n"), fragment, ctx, 0, false);
  return fragment;
}

function isBlank(line) {
  return line.trim() === "";
}

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function startsBlock(line) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    HR.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line)
  );
}

function renderBlocks(lines, parent, ctx, depth, tight) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    if (depth >= MAX_DEPTH) {
      i = paragraph(lines, i, parent, ctx, tight, true);
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      i = fencedCode(lines, i, m, parent);
    } else if ((m = HEADING.exec(line))) {
      const level = Math.min(6, m[1].length + 2); // the page owns h1/h2
      const h = document.createElement(`h${level}`);
      h.className = "md-heading";
      renderInline(m[2] || "", h, ctx, 0);
      parent.appendChild(h);
      i += 1;
    } else if (HR.test(line)) {
      parent.appendChild(document.createElement("hr"));
      i += 1;
    } else if (QUOTE.test(line)) {
      i = blockquote(lines, i, parent, ctx, depth);
    } else if (LIST_ITEM.test(line)) {
      i = list(lines, i, parent, ctx, depth);
    } else if (isTableStart(lines, i)) {
      i = table(lines, i, parent, ctx);
    } else {
      i = paragraph(lines, i, parent, ctx, tight, false);
    }
  }
}

function paragraph(lines, i, parent, ctx, tight, plain) {
  const collected = [lines[i]];
  let j = i + 1;
  while (j < lines.length && !isBlank(lines[j])) {
    if (!plain && (startsBlock(lines[j]) || isTableStart(lines, j))) break;
    collected.push(lines[j]);
    j += 1;
  }
  const p = tight ? document.createDocumentFragment() : document.createElement("p");
  collected.forEach((line, n) => {
    if (n > 0) p.appendChild(document.createElement("br"));
    renderInline(line.trim(), p, ctx, 0);
  });
  parent.appendChild(p);
  return j;
}

function fencedCode(lines, i, match, parent) {
  const fence = match[1];
  const closing = new RegExp(`^ {0,3}${fence[0] === "`" ? "`" : "~"}{${fence.length},}[ \\t]*$`);
  const indent = indentOf(lines[i]);
  const body = [];
  let j = i + 1;
  while (j < lines.length && !closing.test(lines[j])) {
    const line = lines[j];
    body.push(line.slice(Math.min(indent, indentOf(line))));
    j += 1;
  }
  parent.appendChild(codeBlock(body.join("\n"), match[2]));
  return j < lines.length ? j + 1 : j; // an unclosed fence (still streaming) runs to the end
}

function codeBlock(code, language) {
  const wrapper = document.createElement("div");
  wrapper.className = "md-code";
  const bar = document.createElement("div");
  bar.className = "md-code-bar";
  const label = document.createElement("span");
  label.textContent = language || "code";
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "md-copy";
  copy.textContent = "Copy";
  copy.setAttribute("aria-label", `Copy ${language || "code"} to clipboard`);
  copy.addEventListener("click", () => {
    const done = (text) => {
      copy.textContent = text;
      setTimeout(() => {
        copy.textContent = "Copy";
      }, 1500);
    };
    if (!navigator.clipboard) return done("Select to copy");
    navigator.clipboard.writeText(code).then(
      () => done("Copied"),
      () => done("Copy failed"),
    );
  });
  bar.append(label, copy);
  const pre = document.createElement("pre");
  pre.tabIndex = 0; // scrollable region reachable by keyboard
  const el = document.createElement("code");
  if (/^[\w+#-]{1,30}$/.test(language)) el.className = `language-${language}`;
  el.textContent = code;
  pre.appendChild(el);
  wrapper.append(bar, pre);
  return wrapper;
}

function blockquote(lines, i, parent, ctx, depth) {
  const inner = [];
  let j = i;
  while (j < lines.length && !isBlank(lines[j])) {
    const m = QUOTE.exec(lines[j]);
    if (m) inner.push(m[1]);
    else if (startsBlock(lines[j])) break;
    else inner.push(lines[j]); // lazy continuation
    j += 1;
  }
  const quote = document.createElement("blockquote");
  renderBlocks(inner, quote, ctx, depth + 1, false);
  parent.appendChild(quote);
  return j;
}

function listKind(match) {
  return /\d/.test(match[2]) ? "ol" : "ul";
}

function list(lines, i, parent, ctx, depth) {
  const first = LIST_ITEM.exec(lines[i]);
  const kind = listKind(first);
  const el = document.createElement(kind);
  if (kind === "ol") {
    const start = parseInt(first[2], 10);
    if (start !== 1) el.start = start;
  }
  const items = [];
  let loose = false;
  let j = i;
  while (j < lines.length) {
    const m = LIST_ITEM.exec(lines[j]);
    if (!m || listKind(m) !== kind) break;
    const gap = m[3] ? m[3].length : 1;
    const contentIndent = m[1].length + m[2].length + (gap > 4 ? 1 : gap);
    const body = [m[4] || ""];
    j += 1;
    let sawBlank = false;
    while (j < lines.length) {
      const line = lines[j];
      if (isBlank(line)) {
        body.push("");
        sawBlank = true;
      } else if (indentOf(line) >= contentIndent) {
        body.push(line.slice(contentIndent));
        sawBlank = false;
      } else if (sawBlank || startsBlock(line) || isTableStart(lines, j)) {
        break;
      } else {
        body.push(line.trim()); // lazy continuation of the item's paragraph
      }
      j += 1;
    }
    while (body.length && body[body.length - 1] === "") {
      body.pop();
      if (j < lines.length && LIST_ITEM.test(lines[j])) loose = true;
    }
    if (body.includes("")) loose = true;
    items.push(body);
  }
  for (const body of items) {
    const li = document.createElement("li");
    renderBlocks(body, li, ctx, depth + 1, !loose);
    el.appendChild(li);
  }
  parent.appendChild(el);
  return j;
}

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  const cells = [];
  let current = "";
  for (let k = 0; k < row.length; k += 1) {
    if (row[k] === "\\" && row[k + 1] === "|") {
      current += "|";
      k += 1;
    } else if (row[k] === "|") {
      cells.push(current.trim());
      current = "";
    } else {
      current += row[k];
    }
  }
  cells.push(current.trim());
  return cells;
}

function isTableStart(lines, i) {
  if (i + 1 >= lines.length || !lines[i].includes("|")) return false;
  if (!TABLE_DELIMITER.test(lines[i + 1]) || !lines[i + 1].includes("-")) return false;
  return splitRow(lines[i]).length === splitRow(lines[i + 1]).length;
}

function table(lines, i, parent, ctx) {
  const header = splitRow(lines[i]);
  const aligns = splitRow(lines[i + 1]).map((cell) => {
    const left = cell.startsWith(":");
    const right = cell.endsWith(":");
    if (left && right) return "center";
    if (right) return "right";
    return left ? "left" : "";
  });
  const wrapper = document.createElement("div");
  wrapper.className = "md-table";
  wrapper.tabIndex = 0;
  const tableEl = document.createElement("table");
  const addRow = (section, cells, tag) => {
    const tr = document.createElement("tr");
    header.forEach((_, n) => {
      const cell = document.createElement(tag);
      if (aligns[n]) cell.classList.add(`align-${aligns[n]}`);
      renderInline(cells[n] || "", cell, ctx, 0);
      tr.appendChild(cell);
    });
    section.appendChild(tr);
  };
  const thead = document.createElement("thead");
  addRow(thead, header, "th");
  const tbody = document.createElement("tbody");
  let j = i + 2;
  while (j < lines.length && !isBlank(lines[j]) && lines[j].includes("|")) {
    addRow(tbody, splitRow(lines[j]), "td");
    j += 1;
  }
  tableEl.append(thead, tbody);
  wrapper.appendChild(tableEl);
  parent.appendChild(wrapper);
  return j;
}
