// The API reference: the service's own OpenAPI document, fetched from this origin and shown
// as text (textContent only; the document's strings are never parsed as HTML).
"use strict";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

// A local `$ref` (`#/components/...`) followed to what it names; anything else as given.
function resolve(doc, value) {
  let seen = 0;
  while (value && typeof value.$ref === "string" && value.$ref.startsWith("#/") && seen++ < 10) {
    value = value.$ref.slice(2).split("/").reduce((at, key) => (at ? at[key] : undefined), doc);
  }
  return value || {};
}

function schemaText(doc, schema) {
  const s = resolve(doc, schema);
  if (s.enum) return s.enum.join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return `array of ${schemaText(doc, s.items)}`;
  return s.type || (schema && schema.$ref ? schema.$ref.split("/").pop() : "");
}

function anchor(method, path) {
  return `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
}

function operation(doc, method, path, op) {
  const section = el("section", null, "operation");
  section.id = anchor(method, path);
  const h = el("h2");
  h.append(el("span", method.toUpperCase(), "badge"), " ", el("code", path));
  section.append(h);
  if (op.summary) section.append(el("p", op.summary));
  if (op.description) section.append(el("p", op.description, "multiline"));
  const params = (op.parameters || []).map((p) => resolve(doc, p));
  if (params.length) {
    section.append(el("h3", "Parameters"));
    const table = el("table");
    const head = el("tr");
    ["name", "in", "required", "type", "description"].forEach((c) => head.append(el("th", c)));
    table.append(head);
    params.forEach((p) => {
      const row = el("tr");
      row.append(el("td", p.name), el("td", p.in), el("td", p.required ? "yes" : "no"),
        el("td", schemaText(doc, p.schema)), el("td", p.description || ""));
      table.append(row);
    });
    section.append(table);
  }
  const body = resolve(doc, op.requestBody);
  if (body.content) {
    section.append(el("h3", "Request body"));
    section.append(el("p", `${Object.keys(body.content).join(", ")}${body.required ? " (required)" : ""}`));
    if (body.description) section.append(el("p", body.description, "multiline"));
  }
  section.append(el("h3", "Responses"));
  const dl = el("dl");
  Object.entries(op.responses || {}).forEach(([code, r]) => {
    dl.append(el("dt", code), el("dd", resolve(doc, r).description || ""));
  });
  section.append(dl);
  return section;
}

async function show() {
  const messages = document.getElementById("messages");
  let doc;
  try {
    const resp = await fetch("../-/openapi.json", { headers: { accept: "application/json" } });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    doc = await resp.json();
  } catch (e) {
    messages.replaceChildren(el("p", `The OpenAPI document could not be read: ${e.message}`, "error"));
    return;
  }
  const info = doc.info || {};
  document.getElementById("title").textContent = `${info.title || "API"} ${info.version || ""}`.trim();
  document.title = `telltale · ${info.title || "API reference"}`;
  document.getElementById("description").textContent = info.description || "";
  const toc = document.getElementById("toc");
  const operations = document.getElementById("operations");
  Object.entries(doc.paths || {}).forEach(([path, item]) => {
    METHODS.filter((m) => item[m]).forEach((method) => {
      const op = item[method];
      const link = el("a");
      link.href = `#${anchor(method, path)}`;
      link.append(el("span", method.toUpperCase(), "badge"), " ", el("code", path));
      const li = el("li");
      li.append(link);
      if (op.summary) li.append(" ", el("span", op.summary, "hint"));
      toc.append(li);
      operations.append(operation(doc, method, path, op));
    });
  });
  document.getElementById("reference").setAttribute("aria-busy", "false");
  // A link to one route (`api.html#get-metrics-...`) opens at it once the page is built.
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target) target.scrollIntoView();
}

show();
