// Kryptos Connect API reference (GET /docs): renders /openapi.json with DOM APIs only
// (no innerHTML), under a CSP that allows nothing but this script and docs.css.
"use strict";

(function () {
  const METHODS = ["get", "post", "put", "patch", "delete"];
  // The path prefix this server is reached under ("" at the root), from <meta name="kc-base">.
  const BASE = (function () {
    const meta = document.querySelector('meta[name="kc-base"]');
    const v = meta ? meta.getAttribute("content") || "" : "";
    return /^(\/[A-Za-z0-9._~%-]+)*$/.test(v) ? v : "";
  })();
  let doc = null;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // A tiny Markdown subset: paragraphs, `code`, **bold**.
  function md(text) {
    const frag = document.createDocumentFragment();
    if (!text) return frag;
    for (const para of String(text).split(/\n\s*\n/)) {
      const p = el("p");
      const parts = para.split(/(`[^`]*`|\*\*[^*]+\*\*)/);
      for (const part of parts) {
        if (part.startsWith("`") && part.endsWith("`") && part.length > 1) p.append(el("code", {}, part.slice(1, -1)));
        else if (part.startsWith("**") && part.endsWith("**")) p.append(el("strong", {}, part.slice(2, -2)));
        else p.append(part);
      }
      frag.append(p);
    }
    return frag;
  }

  function refName(ref) {
    return ref.replace(/^#\/components\/schemas\//, "");
  }

  function resolve(schema, seen) {
    if (schema && schema.$ref) {
      const name = refName(schema.$ref);
      return { schema: (doc.components && doc.components.schemas && doc.components.schemas[name]) || {}, name, seen: seen.includes(name) };
    }
    return { schema: schema || {}, name: null, seen: false };
  }

  function typeLabel(schema) {
    if (!schema) return "any";
    if (schema.$ref) return refName(schema.$ref);
    const t = schema.type;
    if (Array.isArray(t)) return t.join(" | ");
    if (t === "array") return "array of " + typeLabel(schema.items);
    if (schema.oneOf || schema.anyOf) {
      return (schema.oneOf || schema.anyOf).map(typeLabel).join(" | ");
    }
    if (schema.allOf) return schema.allOf.map(typeLabel).join(" & ");
    if (t) return schema.format ? t + " (" + schema.format + ")" : t;
    return "any";
  }

  // Collects the properties of an object schema, following allOf and nullable oneOf.
  function objectParts(schema, seen) {
    const props = {};
    const required = new Set(schema.required || []);
    const merge = (s) => {
      const r = resolve(s, seen);
      const o = r.schema;
      Object.assign(props, o.properties || {});
      (o.required || []).forEach((x) => required.add(x));
      (o.allOf || []).forEach(merge);
    };
    Object.assign(props, schema.properties || {});
    (schema.allOf || []).forEach(merge);
    return { props, required };
  }

  function nonNull(schema) {
    const alts = schema.oneOf || schema.anyOf;
    if (alts) {
      const rest = alts.filter((s) => s.type !== "null");
      if (rest.length === 1) return rest[0];
    }
    return schema;
  }

  function schemaView(schema, seen, depth) {
    seen = seen || [];
    depth = depth || 0;
    const r = resolve(nonNull(schema || {}), seen);
    const s = r.schema;
    const here = r.name ? seen.concat([r.name]) : seen;
    if (r.seen || depth > 6) return el("div", { class: "type" }, "→ " + (r.name || "…"));
    if (s.type === "array" && s.items) {
      return el("div", {}, el("div", { class: "type" }, "array of"), el("div", { class: "nested" }, schemaView(s.items, here, depth + 1)));
    }
    const { props, required } = objectParts(s, here);
    const names = Object.keys(props);
    if (names.length === 0) {
      const out = el("div", {}, el("span", { class: "type" }, typeLabel(s)));
      if (s.enum) out.append(" ", el("span", { class: "enum" }, "one of " + s.enum.map((v) => JSON.stringify(v)).join(", ")));
      if (s.description) out.append(md(s.description));
      return out;
    }
    const table = el("table", {}, el("tr", {}, el("th", {}, "field"), el("th", {}, "type"), el("th", {}, "description")));
    for (const name of names) {
      const p = props[name];
      const inner = resolve(nonNull(p), here);
      const isComplex = (inner.schema.properties || inner.schema.allOf || (inner.schema.type === "array" && inner.schema.items && (resolve(inner.schema.items, here).schema.properties)));
      const desc = el("td", {}, md(p.description || inner.schema.description));
      const e = p.enum || inner.schema.enum;
      if (e) desc.append(el("div", { class: "enum" }, "one of " + e.map((v) => JSON.stringify(v)).join(", ")));
      if (p.examples && p.examples.length) desc.append(el("div", { class: "enum" }, "example: " + JSON.stringify(p.examples[0])));
      if (isComplex && !inner.seen) {
        const d = el("details", {}, el("summary", {}, "fields"), el("div", { class: "nested" }, schemaView(p, here, depth + 1)));
        desc.append(d);
      }
      table.append(el("tr", {},
        el("td", { class: "field" }, name, required.has(name) ? el("span", { class: "req" }, "required") : null),
        el("td", { class: "type" }, typeLabel(p)),
        desc));
    }
    return table;
  }

  function bodyView(content) {
    if (!content) return null;
    const out = el("div");
    for (const [type, media] of Object.entries(content)) {
      out.append(el("div", { class: "type" }, type));
      if (media.schema) out.append(schemaView(media.schema));
    }
    return out;
  }

  function authLine(op) {
    const sec = op.security || doc.security;
    if (!sec || sec.length === 0) return el("div", { class: "auth" }, "No authentication.");
    const schemes = (doc.components && doc.components.securitySchemes) || {};
    const names = sec.map((req) => Object.keys(req).map((n) => {
      const s = schemes[n] || {};
      if (s.type === "apiKey") return s.name;
      if (s.type === "http") return "Authorization: Bearer";
      return n;
    }).join(" + "));
    return el("div", { class: "auth" }, "Authentication: ", names.map((n, i) => [i ? " or " : "", el("code", {}, n)]));
  }

  function opId(method, path) {
    return (method + path).replace(/[^a-zA-Z0-9]+/g, "-");
  }

  function operationView(method, path, op) {
    const box = el("section", { class: "op", id: opId(method, path), "data-search": (method + " " + path + " " + (op.summary || "")).toLowerCase() });
    box.append(el("h3", {}, op.summary || method.toUpperCase() + " " + path));
    box.append(el("div", { class: "op-line" }, el("span", { class: "method " + method }, method), path));
    box.append(authLine(op));
    if (op.description) box.append(md(op.description));
    const params = op.parameters || [];
    if (params.length) {
      box.append(el("h4", {}, "Parameters"));
      const t = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")));
      for (const p of params) {
        t.append(el("tr", {},
          el("td", { class: "field" }, p.name, p.required ? el("span", { class: "req" }, "required") : null),
          el("td", {}, p.in),
          el("td", { class: "type" }, typeLabel(p.schema)),
          el("td", {}, md(p.description))));
      }
      box.append(t);
    }
    if (op.requestBody) {
      box.append(el("h4", {}, "Request body"), md(op.requestBody.description), bodyView(op.requestBody.content));
    }
    box.append(el("h4", {}, "Responses"));
    for (const [status, resp] of Object.entries(op.responses || {})) {
      const ok = status.startsWith("2");
      const head = el("summary", {}, el("span", { class: "status " + (ok ? "ok" : "err") }, status), " ", md(resp.description).textContent);
      const d = el("details", { class: "resp" }, head, bodyView(resp.content));
      if (ok) d.open = true;
      box.append(d);
    }
    return box;
  }

  function render() {
    const main = document.getElementById("main");
    const toc = document.getElementById("toc");
    main.replaceChildren();
    toc.replaceChildren();
    main.append(el("h1", {}, doc.info.title, " ", el("span", { class: "muted" }, doc.info.version)));
    main.append(md(doc.info.description));
    main.append(el("p", {}, "OpenAPI ", doc.openapi, ": ", el("a", { href: BASE + "/openapi.json" }, BASE + "/openapi.json")));
    const tags = (doc.tags || []).map((t) => t.name);
    const byTag = new Map(tags.map((t) => [t, []]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const tag = (item[m].tags && item[m].tags[0]) || "Other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([m, path, item[m]]);
      }
    }
    const tagInfo = new Map((doc.tags || []).map((t) => [t.name, t]));
    for (const [tag, ops] of byTag) {
      if (ops.length === 0) continue;
      const sec = el("div", { class: "tag-section" });
      sec.append(el("h2", { class: "tag", id: "tag-" + opId("", tag) }, tag));
      if (tagInfo.get(tag) && tagInfo.get(tag).description) sec.append(md(tagInfo.get(tag).description));
      toc.append(el("div", { class: "toc-tag" }, tag));
      for (const [m, path, op] of ops) {
        sec.append(operationView(m, path, op));
        toc.append(el("a", { class: "toc-op", href: "#" + opId(m, path), "data-search": (m + " " + path + " " + (op.summary || "")).toLowerCase() },
          el("span", { class: "method " + m }, m), el("span", { class: "path" }, path)));
      }
      main.append(sec);
    }
    const schemas = (doc.components && doc.components.schemas) || {};
    main.append(el("h2", { class: "tag", id: "schemas" }, "Schemas"));
    toc.append(el("div", { class: "toc-tag" }, "Schemas"));
    for (const name of Object.keys(schemas).sort()) {
      const block = el("section", { class: "schema-block", id: "schema-" + name, "data-search": name.toLowerCase() });
      block.append(el("h3", {}, name), md(schemas[name].description), schemaView({ $ref: "#/components/schemas/" + name }));
      main.append(block);
      toc.append(el("a", { class: "toc-op", href: "#schema-" + name, "data-search": name.toLowerCase() }, el("span", { class: "path" }, name)));
    }
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
  }

  function filter(q) {
    q = q.trim().toLowerCase();
    for (const e of document.querySelectorAll("[data-search]")) {
      e.classList.toggle("hidden", q !== "" && !e.getAttribute("data-search").includes(q));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("filter").addEventListener("input", (e) => filter(e.target.value));
    fetch(BASE + "/openapi.json", { credentials: "omit" })
      .then((r) => {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then((d) => {
        doc = d;
        render();
      })
      .catch((e) => {
        document.getElementById("status").textContent = "Could not load " + BASE + "/openapi.json: " + e.message;
      });
  });
})();
