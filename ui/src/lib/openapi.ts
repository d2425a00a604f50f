// Reading the relay's OpenAPI 3.1 document (`GET /api/openapi.json`) into
// what the API page shows: operations grouped by area, and each schema as a
// compact TypeScript-like type. Pure functions, tested in test/openapi.test.ts.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = { [key: string]: Json };

export interface Param {
  name: string;
  in: string;
  required: boolean;
  type: string;
  about: string;
}

export interface Body {
  mime: string;
  type: string;
}

export interface Reply {
  status: string;
  about: string;
  body: Body | null;
}

export interface Operation {
  id: string;
  method: string;
  path: string;
  tag: string;
  summary: string;
  access: string;
  about: string;
  streaming: boolean;
  params: Param[];
  body: Body | null;
  replies: Reply[];
}

export interface Field {
  name: string;
  type: string;
  required: boolean;
  about: string;
}

const obj = (v: Json | undefined): Schema => (v && typeof v === "object" && !Array.isArray(v) ? v : {});
const str = (v: Json | undefined) => (typeof v === "string" ? v : "");

/** The name a `$ref` points to (`#/components/schemas/Camera` → `Camera`). */
export function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf("/") + 1);
}

/** A schema as a short type: `Camera`, `string | null`, `{ id: string; fps?: number }`, `Device[]`. */
export function typeText(s: Schema, depth = 0): string {
  if (typeof s.$ref === "string") return refName(s.$ref);
  const alt = (key: string, sep: string) => (Array.isArray(s[key]) ? (s[key] as Json[]).map((x) => typeText(obj(x), depth)).join(sep) : null);
  const union = alt("oneOf", " | ") ?? alt("anyOf", " | ") ?? alt("allOf", " & ");
  if (union !== null) return union || "unknown";
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if ("const" in s) return JSON.stringify(s.const);
  const types = Array.isArray(s.type) ? s.type.map(String) : s.type ? [String(s.type)] : [];
  const one = (t: string): string => {
    switch (t) {
      case "integer":
        return "integer";
      case "array":
        return `${wrap(typeText(obj(s.items), depth))}[]`;
      case "object":
        return objectText(s, depth);
      case "string":
        return s.contentMediaType ? `bytes (${str(s.contentMediaType)})` : "string";
      default:
        return t;
    }
  };
  if (!types.length) return s.properties ? objectText(s, depth) : "any";
  return types.map(one).join(" | ");
}

const wrap = (t: string) => (t.includes(" ") && !t.startsWith("{") ? `(${t})` : t);

function objectText(s: Schema, depth: number): string {
  const fields = schemaFields(s);
  const extra = s.additionalProperties && typeof s.additionalProperties === "object" ? `[key: string]: ${typeText(obj(s.additionalProperties), depth + 1)}` : null;
  if (!fields.length) return extra ? `{ ${extra} }` : "object";
  if (depth > 1) return "{ … }";
  const parts = fields.map((f) => `${f.name}${f.required ? "" : "?"}: ${f.type}`);
  if (extra) parts.push(extra);
  return `{ ${parts.join("; ")} }`;
}

/** An object schema's fields, in the document's order. */
export function schemaFields(s: Schema, depth = 0): Field[] {
  const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
  return Object.entries(obj(s.properties)).map(([name, v]) => ({
    name,
    type: typeText(obj(v), depth + 1),
    required: required.has(name),
    about: str(obj(v).description),
  }));
}

function body(content: Json | undefined): Body | null {
  const entries = Object.entries(obj(content));
  if (!entries.length) return null;
  const [mime, media] = entries[0];
  return { mime, type: typeText(obj(obj(media).schema)) };
}

/** Every operation of the document, in its order. */
export function operations(doc: Schema): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(obj(doc.paths))) {
    for (const [method, raw] of Object.entries(obj(item))) {
      const op = obj(raw);
      out.push({
        id: str(op.operationId),
        method: method.toUpperCase(),
        path,
        tag: str((op.tags as Json[] | undefined)?.[0]),
        summary: str(op.summary),
        access: str(op["x-relaydeck-access"]),
        about: str(op.description),
        streaming: op["x-relaydeck-streaming"] === true,
        params: ((op.parameters as Json[] | undefined) ?? []).map((p) => {
          const q = obj(p);
          return { name: str(q.name), in: str(q.in), required: q.required === true, type: typeText(obj(q.schema)), about: str(q.description) };
        }),
        body: body(obj(op.requestBody).content),
        replies: Object.entries(obj(op.responses)).map(([status, r]) => ({ status, about: str(obj(r).description), body: body(obj(r).content) })),
      });
    }
  }
  return out;
}

/** The document's areas, in its `tags` order, with their operations. */
export function byTag(doc: Schema): { tag: string; about: string; operations: Operation[] }[] {
  const ops = operations(doc);
  const tags = ((doc.tags as Json[] | undefined) ?? []).map((t) => ({ tag: str(obj(t).name), about: str(obj(t).description) }));
  for (const op of ops) if (!tags.some((t) => t.tag === op.tag)) tags.push({ tag: op.tag, about: "" });
  return tags.map((t) => ({ ...t, operations: ops.filter((o) => o.tag === t.tag) })).filter((t) => t.operations.length);
}

/** The schema names a type text mentions (to link them). */
export function mentioned(type: string, schemas: Schema): string[] {
  return (type.match(/[A-Z][A-Za-z0-9_]*/g) ?? []).filter((n, i, all) => n in schemas && all.indexOf(n) === i);
}
