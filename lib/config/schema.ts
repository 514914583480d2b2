// The schema of config.yaml (DESIGN section 4). Compiled ahead of time into
// lib/generated/config-validator.js by packaging/validators.ts.
const positiveInt = { type: "integer", minimum: 1 } as const;
const stringList = { type: "array", items: { type: "string" } } as const;

export const configSchema = {
  type: "object",
  additionalProperties: false,
  required: ["repository"],
  properties: {
    version: { type: "integer", enum: [1] }, // "v1" (the original Konta) is mapped to 1 before validation
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
        allow_insecure_http: { type: "boolean" },
        username: { type: "string", minLength: 1, pattern: "^[^:]+$" },
        ssh_key_file: { type: "string", minLength: 1 },
        known_hosts_file: { type: "string", minLength: 1 },
        tag: { type: "string", minLength: 1 },
        verify: {
          type: "object",
          additionalProperties: false,
          minProperties: 1,
          properties: {
            ssh_allowed_signers: { type: "string", pattern: "^/" },
            gpg_keyring: { type: "string", pattern: "^/" },
            mode: { type: "string", enum: ["head", "tag"] },
          },
        },
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
        auto_create_external_networks: { type: "boolean" },
        target: { type: "string", enum: ["engine", "swarm"] },
        image_update_interval: { type: "integer", minimum: 10 },
      },
    },
    hooks: {
      type: "object",
      additionalProperties: false,
      properties: {
        timeout: positiveInt,
        enabled: { type: "boolean" },
        // file names in the repository's hooks/ folder (the original Konta's hooks.pre etc.)
        files: {
          type: "object",
          additionalProperties: false,
          properties: Object.fromEntries(["pre", "success", "failure", "post_update"].map((e) => [e, { type: "string", pattern: "^[^/]+$" }])),
        },
        writable_paths: { type: "array", items: { type: "string", pattern: "^/" } },
      },
    },
    sync: {
      type: "object",
      additionalProperties: false,
      properties: {
        windows: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
        timezone: { type: "string", minLength: 1 },
        repair_outside_windows: { type: "boolean" },
      },
    },
    webhook: {
      type: "object",
      additionalProperties: false,
      required: ["secret"],
      properties: { secret: { type: "string", minLength: 16 } },
    },
    metrics: {
      type: "object",
      additionalProperties: false,
      properties: { textfile_dir: { type: "string", pattern: "^/" } },
    },
    status: {
      type: "object",
      additionalProperties: false,
      properties: { password: { type: "string", minLength: 8 }, public_url: { type: "string", pattern: "^https?://" } },
    },
    report: {
      type: "object",
      additionalProperties: false,
      properties: {
        provider: { type: "string", enum: ["github", "gitlab", "gitea"] },
        url: { type: "string", pattern: "^https?://" },
        token: { type: "string", minLength: 1 },
        timeout: { type: "integer", minimum: 1, maximum: 30 },
      },
    },
    secrets: {
      type: "object",
      additionalProperties: false,
      properties: {
        age_key_file: { type: "string", pattern: "^/" },
        refresh_interval: { type: "integer", minimum: 60 },
        providers: {
          type: "object",
          propertyNames: { pattern: "^[a-z][a-z0-9_-]*$" },
          additionalProperties: {
            type: "object",
            additionalProperties: false,
            properties: {
              type: { type: "string", enum: ["bao", "vault"] },
              url: { type: "string", pattern: "^https?://" },
              token: { type: "string", minLength: 1 },
              token_file: { type: "string", pattern: "^/" },
              approle: {
                type: "object",
                additionalProperties: false,
                required: ["role_id"],
                properties: { role_id: { type: "string", minLength: 1 }, secret_id: { type: "string", minLength: 1 }, secret_id_file: { type: "string", pattern: "^/" }, mount: { type: "string", minLength: 1 } },
              },
              namespace: { type: "string", minLength: 1 },
              ca_file: { type: "string", pattern: "^/" },
              command: { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
              json_field: { type: "string", minLength: 1 },
              timeout: { type: "integer", minimum: 1, maximum: 300 },
            },
          },
        },
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
