// The schema of config.yaml (DESIGN section 4). Compiled ahead of time into
// lib/generated/config-validator.js by packaging/validators.ts.
const positiveInt = { type: "integer", minimum: 1 } as const;
const stringList = { type: "array", items: { type: "string" } } as const;

export const configSchema = {
  type: "object",
  additionalProperties: false,
  required: ["repository"],
  properties: {
    version: { type: "integer", enum: [1] },
    repository: {
      type: "object",
      additionalProperties: false,
      required: ["url"],
      properties: {
        url: { type: "string", minLength: 1 },
        branch: { type: "string", minLength: 1 },
        path: { type: "string", minLength: 1 },
        interval: { type: "integer", minimum: 10 },
        token: { type: "string" },
        token_file: { type: "string", minLength: 1 },
        timeout: positiveInt,
        retries: { type: "integer", minimum: 0, maximum: 10 },
      },
    },
    deploy: {
      type: "object",
      additionalProperties: false,
      properties: {
        health_timeout: positiveInt,
        keep_releases: { type: "integer", minimum: 2 },
        prune_removed_apps: { type: "boolean" },
        min_uptime: { type: "number", minimum: 0, maximum: 60 },
        parallel: { type: "integer", minimum: 1, maximum: 32 },
        profiles: stringList,
        env_passthrough: stringList,
        allow_privileged: { type: "boolean" },
        allowed_bind_roots: { type: "array", items: { type: "string", pattern: "^/" } },
        allowed_capabilities: stringList,
      },
    },
    hooks: {
      type: "object",
      additionalProperties: false,
      properties: {
        timeout: positiveInt,
        enabled: { type: "boolean" },
        writable_paths: { type: "array", items: { type: "string", pattern: "^/" } },
      },
    },
    notify: {
      type: "object",
      additionalProperties: false,
      required: ["url"],
      properties: {
        url: { type: "string", pattern: "^https?://" },
        format: { type: "string", enum: ["json", "slack", "discord", "ntfy"] },
        timeout: positiveInt,
      },
    },
  },
} as const;
