// Inline Markdown (emphasis, code spans, links, citation markers) rendered
// to DOM nodes. Text only ever becomes Text nodes; links must be http(s).

export const MAX_DEPTH = 8; // nesting limit for lists, quotes and inline spans
const ESCAPABLE = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const BARE_URL = /https?:\/\/[^\s<>"]+/y;
const AUTOLINK = /<(https?:\/\/[^\s<>]+)>/y;
const CITATION = /\[(\d{1,3})\]/y;

/** Resolve `raw` as the browser would and return it only if it is http(s). */
export function safeUrl(raw, base = document.baseURI) {
  if (typeof raw !== "string" || raw.trim() === "") return null;
  let url;
  try {
    url = new URL(raw, base);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

/** Make an external link that opens in a new tab without access to this page. */
export function externalLink(href) {
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  return a;
}

function matchAt(regex, text, i) {
  regex.lastIndex = i;
  return regex.exec(text);
}

function runLength(text, i, ch) {
  let n = 0;
  while (text[i + n] === ch) n += 1;
  return n;
}

export function renderInline(text, parent, ctx, depth) {
  let buffer = "";
  const flush = () => {
    if (buffer) parent.appendChild(document.createTextNode(buffer));
    buffer = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    let consumed = 0;
    if (c === "\\" && ESCAPABLE.test(text[i + 1] || "")) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      consumed = codeSpan(text, i, parent, flush);
      if (!consumed) {
        const run = runLength(text, i, "`");
        buffer += "`".repeat(run);
        i += run;
        continue;
      }
    } else if (depth < MAX_DEPTH) {
      consumed = inlineSpan(text, i, parent, ctx, depth, flush);
    }
    if (consumed) {
      i += consumed;
    } else {
      buffer += c;
      i += 1;
    }
  }
  flush();
}

function codeSpan(text, i, parent, flush) {
  const run = runLength(text, i, "`");
  let k = text.indexOf("`".repeat(run), i + run);
  while (k !== -1 && runLength(text, k, "`") !== run) {
    k = text.indexOf("`".repeat(run), k + runLength(text, k, "`"));
  }
  if (k === -1) return 0;
  let content = text.slice(i + run, k);
  if (/^ .*[^ ].* $/.test(content)) content = content.slice(1, -1);
  flush();
  const code = document.createElement("code");
  code.textContent = content;
  parent.appendChild(code);
  return k + run - i;
}

function inlineSpan(text, i, parent, ctx, depth, flush) {
  const c = text[i];
  if (c === "!" && text[i + 1] === "[") {
    const link = parseLink(text, i + 1);
    // Images are never fetched: show the alt text as a link instead.
    if (link) return emitLink(link, parent, ctx, depth, flush) + 1;
  }
  if (c === "[") {
    const link = ctx.inLink ? null : parseLink(text, i);
    if (link) return emitLink(link, parent, ctx, depth, flush);
    const cite = matchAt(CITATION, text, i);
    if (cite && ctx.citations.has(Number(cite[1])) && !ctx.inLink) {
      flush();
      parent.appendChild(citationMarker(ctx.citations.get(Number(cite[1]))));
      return cite[0].length;
    }
  }
  if (c === "<" && !ctx.inLink) {
    const auto = matchAt(AUTOLINK, text, i);
    if (auto) return emitUrl(auto[1], parent, flush) ? auto[0].length : 0;
  }
  if (c === "h" && !ctx.inLink && (i === 0 || /[\s(*_~]/.test(text[i - 1]))) {
    const bare = matchAt(BARE_URL, text, i);
    if (bare) {
      const url = trimUrl(bare[0]);
      if (emitUrl(url, parent, flush)) return url.length;
    }
  }
  if (c === "*" || c === "_" || c === "~") return emphasis(text, i, parent, ctx, depth, flush);
  return 0;
}

function trimUrl(url) {
  let end = url.length;
  while (end > 0 && /[.,:;!?'"\]]/.test(url[end - 1])) end -= 1;
  let trimmed = url.slice(0, end);
  while (trimmed.endsWith(")")) {
    const opens = trimmed.split("(").length - 1;
    const closes = trimmed.split(")").length - 1;
    if (closes <= opens) break;
    trimmed = trimmed.slice(0, -1);
  }
  return trimmed;
}

function emitUrl(url, parent, flush) {
  const href = safeUrl(url);
  if (!href) return false;
  flush();
  const a = externalLink(href);
  a.textContent = url;
  parent.appendChild(a);
  return true;
}

function emitLink(link, parent, ctx, depth, flush) {
  flush();
  const href = safeUrl(link.href);
  const target = href ? externalLink(href) : document.createElement("span");
  if (href && link.title) target.title = link.title;
  if (!href) target.className = "md-unsafe-link";
  renderInline(link.label, target, { ...ctx, inLink: true }, depth + 1);
  parent.appendChild(target);
  return link.length;
}

function citationMarker(citation) {
  const sup = document.createElement("sup");
  sup.className = "md-cite";
  const href = safeUrl(citation.url || "");
  const label = `Source ${citation.index}${citation.title ? `: ${citation.title}` : ""}`;
  const el = href ? externalLink(href) : document.createElement("span");
  el.textContent = `[${citation.index}]`;
  el.setAttribute("aria-label", label);
  el.title = label;
  sup.appendChild(el);
  return sup;
}

/** Parse `[label](dest "title")` starting at text[i] === "[". */
function parseLink(text, i) {
  let depth = 0;
  let k = i;
  const limit = Math.min(text.length, i + 2000);
  for (; k < limit; k += 1) {
    const ch = text[k];
    if (ch === "\\") k += 1;
    else if (ch === "[") depth += 1;
    else if (ch === "]") {
      depth -= 1;
      if (depth === 0) break;
    }
  }
  if (depth !== 0 || text[k + 1] !== "(") return null;
  const label = text.slice(i + 1, k);
  let p = k + 2;
  while (text[p] === " ") p += 1;
  let href = "";
  if (text[p] === "<") {
    const close = text.indexOf(">", p);
    if (close === -1) return null;
    href = text.slice(p + 1, close);
    p = close + 1;
  } else {
    let parens = 0;
    while (p < text.length && !/\s/.test(text[p])) {
      if (text[p] === "(") parens += 1;
      else if (text[p] === ")") {
        if (parens === 0) break;
        parens -= 1;
      }
      href += text[p];
      p += 1;
    }
  }
  while (text[p] === " ") p += 1;
  let title = "";
  const quote = text[p];
  if (quote === '"' || quote === "'") {
    const close = text.indexOf(quote, p + 1);
    if (close === -1) return null;
    title = text.slice(p + 1, close);
    p = close + 1;
    while (text[p] === " ") p += 1;
  }
  if (text[p] !== ")") return null;
  return { label, href, title, length: p + 1 - i };
}

function emphasis(text, i, parent, ctx, depth, flush) {
  const c = text[i];
  const run = Math.min(runLength(text, i, c), 3);
  const after = text[i + run] || "";
  if (after === "" || /\s/.test(after)) return 0;
  if (c === "_" && i > 0 && /[\p{L}\p{N}]/u.test(text[i - 1])) return 0;
  if (c === "~" && run !== 2) return 0;
  for (let size = run; size >= 1; size -= 1) {
    const close = findCloser(text, i + size, c, size);
    if (close === -1) continue;
    flush();
    let outer;
    if (c === "~") outer = document.createElement("del");
    else if (size === 3) {
      outer = document.createElement("strong");
      const em = document.createElement("em");
      outer.appendChild(em);
      renderInline(text.slice(i + 3, close), em, ctx, depth + 1);
      parent.appendChild(outer);
      return close + 3 - i;
    } else outer = document.createElement(size === 2 ? "strong" : "em");
    renderInline(text.slice(i + size, close), outer, ctx, depth + 1);
    parent.appendChild(outer);
    return close + size - i;
  }
  return 0;
}

function findCloser(text, from, ch, size) {
  let k = from;
  while (k < text.length) {
    if (text[k] === "`") {
      const run = runLength(text, k, "`");
      const end = text.indexOf("`".repeat(run), k + run);
      k = end === -1 ? k + run : end + run;
      continue;
    }
    if (text[k] === "\\") {
      k += 2;
      continue;
    }
    if (text[k] !== ch) {
      k += 1;
      continue;
    }
    const run = runLength(text, k, ch);
    const before = text[k - 1];
    const next = text[k + run] || "";
    const okBefore = k > from && !/\s/.test(before);
    const okAfter = ch !== "_" || !/[\p{L}\p{N}]/u.test(next);
    if (okBefore && okAfter && (run === size || (size < 3 && run >= size && run !== 2 * size))) {
      if (run === size) return k;
      // a longer run closes the inner span first ("**a *b***"): take its tail
      return k + run - size;
    }
    k += run;
  }
  return -1;
}
