import { z } from 'zod';
import type { RouteSpec } from './route-kit.ts';

const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
};

/** The OpenAPI 3.0 document, built from the same zod schemas that validate requests. */
export function openApiDocument(specs: readonly RouteSpec<any, any, any>[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const spec of specs) {
    const path = spec.url.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    (paths[path] as Record<string, object>)[spec.method.toLowerCase()] = operation(spec);
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Pier API', version },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function operation(spec: RouteSpec<any, any, any>): object {
  const content = spec.response ? { content: { 'application/json': { schema: jsonSchema(spec.response, 'output') } } } : {};
  const others = Object.entries(spec.otherStatuses ?? {}).map(([status, description]) => [status, { description, ...content }]);
  const op: Record<string, unknown> = {
    summary: spec.summary,
    tags: [spec.tag],
    parameters: [...parameters(spec.params, 'path'), ...parameters(spec.query, 'query')],
    responses: {
      [String(spec.status ?? 200)]: { description: 'success', ...content },
      ...Object.fromEntries(others),
      default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    },
  };
  if (spec.auth === false) op.security = [];
  if (spec.body) {
    op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } };
  }
  return op;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): object[] {
  if (!schema) return [];
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }));
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): object {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });
}
