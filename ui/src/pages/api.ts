// API: the relay's REST routes as its OpenAPI document describes them
// (`GET /api/openapi.json`, made from the Rust contract): who may call each,
// its parameters, its body and its answers, and every schema they name.
import { api } from "../lib/api";
import { h, notice } from "../lib/dom";
import { byTag, mentioned, schemaFields, typeText, type Operation, type Schema } from "../lib/openapi";

export function mountApi(root: HTMLElement): () => void {
  const filter = h("input", { type: "search", id: "api-filter", placeholder: "Filter: a path, a word, a schema…", "aria-label": "Filter the routes" }) as HTMLInputElement;
  const head = h(
    "div",
    { class: "card" },
    h("p", { class: "hint" }, "Every REST route of this relay, from its OpenAPI 3.1 document. A request carries one credential: Authorization: Bearer TOKEN, HTTP Basic with the token as the password, ?token=TOKEN, or the admin's session. Errors are always {\"error\":{\"code\",\"message\"}}."),
    h("div", { class: "actions" }, filter, h("a", { href: "/api/openapi.json", download: "relaydeck-openapi.json", class: "button" }, "Download openapi.json")),
  );
  const body = h("div", { id: "api-routes" }, h("p", { class: "hint" }, "Loading…"));
  root.append(head, body);
  let alive = true;
  void api<Schema>("/api/openapi.json")
    .then((doc) => {
      if (!alive) return;
      body.replaceChildren(...render(doc));
      filter.oninput = () => applyFilter(body, filter.value);
    })
    .catch((e) => body.replaceChildren(notice(`The API document could not be read: ${(e as Error).message}`, "error")));
  return () => {
    alive = false;
  };
}

function render(doc: Schema): HTMLElement[] {
  const schemas = ((doc.components as Schema | undefined)?.schemas ?? {}) as Record<string, Schema>;
  const typeEl = (type: string) => typeLink(type, schemas);
  const areas = byTag(doc).map((area) =>
    h("section", { class: "card api-area", "data-tag": area.tag }, h("h2", {}, `${area.tag[0].toUpperCase()}${area.tag.slice(1)}`, h("span", { class: "hint" }, ` — ${area.about}`)), ...area.operations.map((op) => operation(op, typeEl))),
  );
  const names = Object.keys(schemas).sort();
  const schemaCards = h(
    "section",
    { class: "card api-area", id: "api-schemas", "data-tag": "schemas" },
    h("h2", {}, "Schemas"),
    ...names.map((name) => schemaCard(name, schemas[name], typeEl)),
  );
  return [...areas, schemaCards];
}

function operation(op: Operation, typeEl: (t: string) => HTMLElement): HTMLElement {
  const params = op.params.length
    ? h(
        "table",
        { class: "api-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "parameter"), h("th", {}, "in"), h("th", {}, "type"), h("th", {}, ""))),
        h("tbody", {}, ...op.params.map((p) => h("tr", {}, h("td", {}, h("code", {}, p.name), p.required ? "" : " (optional)"), h("td", {}, p.in), h("td", {}, typeEl(p.type)), h("td", {}, p.about)))),
      )
    : null;
  const replies = h(
    "ul",
    { class: "api-replies" },
    ...op.replies.map((r) => h("li", { "data-status": r.status }, h("code", { class: `status s${r.status[0]}` }, r.status), ` ${r.about}`, ...(r.body ? [" → ", typeEl(r.body.type), r.body.mime === "application/json" ? "" : h("span", { class: "hint" }, ` ${r.body.mime}`)] : []))),
  );
  return h(
    "details",
    { class: "api-op", id: `op-${op.id}`, "data-search": `${op.method} ${op.path} ${op.summary} ${op.access} ${op.replies.map((r) => r.body?.type ?? "").join(" ")}`.toLowerCase() },
    h("summary", {}, h("code", { class: `method m-${op.method.toLowerCase()}` }, op.method), " ", h("code", { class: "api-path" }, op.path), " ", h("span", {}, op.summary), " ", h("span", { class: `badge access-${op.access}` }, op.access), op.streaming ? h("span", { class: "badge" }, "stream") : ""),
    h("p", { class: "hint" }, op.about),
    ...(params ? [params] : []),
    ...(op.body ? [h("p", {}, "Body: ", typeEl(op.body.type), h("span", { class: "hint" }, ` (${op.body.mime})`))] : []),
    replies,
  );
}

function schemaCard(name: string, schema: Schema, typeEl: (t: string) => HTMLElement): HTMLElement {
  const fields = schemaFields(schema);
  const about = typeof schema.description === "string" ? schema.description : "";
  return h(
    "details",
    { class: "api-op", id: `schema-${name}`, "data-search": `${name} ${fields.map((f) => f.name).join(" ")}`.toLowerCase() },
    h("summary", {}, h("code", {}, name), about ? h("span", { class: "hint" }, ` — ${about}`) : ""),
    fields.length
      ? h("table", { class: "api-table" }, h("tbody", {}, ...fields.map((f) => h("tr", {}, h("td", {}, h("code", {}, f.name), f.required ? "" : " (optional)"), h("td", {}, typeEl(f.type)), h("td", {}, f.about)))))
      : h("p", {}, typeEl(typeText(schema))),
  );
}

/** A type's text, with the schemas it names as buttons that open their card. */
function typeLink(type: string, schemas: Record<string, Schema>): HTMLElement {
  const code = h("code", { class: "api-type" });
  const names = mentioned(type, schemas);
  if (!names.length) {
    code.textContent = type;
    return code;
  }
  const re = new RegExp(`\\b(${names.join("|")})\\b`, "g");
  let at = 0;
  for (const m of type.matchAll(re)) {
    code.append(type.slice(at, m.index));
    const name = m[0];
    const link = h("button", { type: "button", class: "link-button api-ref" }, name);
    link.onclick = () => {
      const card = document.getElementById(`schema-${name}`) as HTMLDetailsElement | null;
      if (!card) return;
      card.open = true;
      card.scrollIntoView({ block: "center" });
    };
    code.append(link);
    at = (m.index ?? 0) + name.length;
  }
  code.append(type.slice(at));
  return code;
}

function applyFilter(body: HTMLElement, text: string) {
  const q = text.trim().toLowerCase();
  for (const area of body.querySelectorAll<HTMLElement>(".api-area")) {
    let shown = 0;
    for (const op of area.querySelectorAll<HTMLElement>(".api-op")) {
      const hit = !q || (op.dataset.search ?? "").includes(q);
      op.hidden = !hit;
      if (hit) shown++;
    }
    area.hidden = shown === 0;
  }
}
