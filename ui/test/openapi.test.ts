import { describe, expect, it } from "vitest";
import { byTag, mentioned, operations, schemaFields, typeText } from "../src/lib/openapi";

const doc = {
  openapi: "3.1.0",
  tags: [{ name: "cameras", description: "Cameras" }, { name: "session", description: "Who" }],
  paths: {
    "/api/clients/{id}": {
      get: {
        tags: ["cameras"],
        summary: "One camera",
        operationId: "getApiClientsId",
        description: "The admin, or a view token.",
        "x-relaydeck-access": "view",
        parameters: [{ name: "id", in: "path", required: true, description: "The camera's ID.", schema: { type: "string", pattern: "^x$" } }],
        responses: {
          "200": { description: "The camera", content: { "application/json": { schema: { $ref: "#/components/schemas/Camera" } } } },
          "404": { description: "No such camera", content: { "application/json": { schema: { $ref: "#/components/schemas/ApiErrorBody" } } } },
        },
      },
    },
    "/api/clients/{id}/mjpeg": {
      get: {
        tags: ["cameras"],
        summary: "MJPEG",
        "x-relaydeck-access": "view",
        "x-relaydeck-streaming": true,
        responses: { "200": { description: "Frames", content: { "multipart/x-mixed-replace": { schema: { type: "string", contentMediaType: "multipart/x-mixed-replace" } } } } },
      },
    },
    "/api/health": { get: { tags: ["session"], summary: "Up", "x-relaydeck-access": "public", responses: { "200": { description: "ok" } } } },
  },
  components: { schemas: { Camera: {}, ApiErrorBody: {} } },
};

describe("the API page's reading of the OpenAPI document", () => {
  it("lists each operation with its access, parameters and answers", () => {
    const [one, mjpeg, health] = operations(doc);
    expect(one).toMatchObject({ method: "GET", path: "/api/clients/{id}", tag: "cameras", access: "view", streaming: false });
    expect(one.params).toEqual([{ name: "id", in: "path", required: true, type: "string", about: "The camera's ID." }]);
    expect(one.replies.map((r) => [r.status, r.body?.type])).toEqual([["200", "Camera"], ["404", "ApiErrorBody"]]);
    expect(mjpeg.streaming).toBe(true);
    expect(mjpeg.replies[0].body).toEqual({ mime: "multipart/x-mixed-replace", type: "bytes (multipart/x-mixed-replace)" });
    expect(health.replies[0].body).toBeNull();
  });

  it("groups operations in the document's tag order", () => {
    expect(byTag(doc).map((t) => [t.tag, t.operations.length])).toEqual([["cameras", 2], ["session", 1]]);
  });

  it("writes schemas as short types", () => {
    expect(typeText({ type: ["string", "null"] })).toBe("string | null");
    expect(typeText({ type: "array", items: { $ref: "#/components/schemas/Device" } })).toBe("Device[]");
    expect(typeText({ type: "array", items: { type: ["integer", "null"] } })).toBe("(integer | null)[]");
    expect(typeText({ enum: ["view", "admin"] })).toBe('"view" | "admin"');
    expect(typeText({ oneOf: [{ $ref: "#/components/schemas/A" }, { type: "object", properties: { state: { type: "string", enum: ["live"] } }, required: ["state"] }] })).toBe('A | { state: "live" }');
    expect(typeText({ type: "object", properties: { id: { type: "string" }, fps: { type: "number" } }, required: ["id"] })).toBe("{ id: string; fps?: number }");
    expect(typeText({ type: "object", additionalProperties: { $ref: "#/components/schemas/S" } })).toBe("{ [key: string]: S }");
    expect(typeText({})).toBe("any");
  });

  it("lists an object's fields with what each is", () => {
    expect(schemaFields({ type: "object", properties: { name: { type: "string", description: "As people see it." }, ids: { type: "array", items: { type: "string" } } }, required: ["name"] })).toEqual([
      { name: "name", type: "string", required: true, about: "As people see it." },
      { name: "ids", type: "string[]", required: false, about: "" },
    ]);
  });

  it("links only the schemas the document defines", () => {
    expect(mentioned("Camera | ApiErrorBody[] | Unknown", doc.components.schemas)).toEqual(["Camera", "ApiErrorBody"]);
  });
});
