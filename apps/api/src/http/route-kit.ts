import type { Principal } from '@pier/core';
import { describeIssues, ValidationError } from '@pier/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * One REST route: its zod schemas are both the validation and the OpenAPI
 * document, so the two cannot drift apart.
 */
export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** fastify path syntax, e.g. `/apps/:app`. */
  url: string;
  summary: string;
  tag: string;
  /** Default true: a valid bearer token is required. */
  auth?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Status on success (default 200) and a schema of what is returned, for the document. */
  status?: number;
  response?: z.ZodType;
  /** Other success statuses the handler may answer with (`reply.code`), each with what it means; same `response`. */
  otherStatuses?: Readonly<Record<number, string>>;
  handler(ctx: RouteContext<P, Q, B>): Promise<unknown>;
}

/** Defines a route with its types inferred from the schemas. */
export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec<P, Q, B> {
  return spec;
}

export function registerRoutes(app: FastifyInstance, specs: readonly RouteSpec<any, any, any>[]): void {
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: spec.url,
      config: { auth: spec.auth !== false },
      handler: async (request, reply) => {
        const ctx = {
          params: parse('path', spec.params, request.params),
          query: parse('query', spec.query, request.query),
          body: parse('body', spec.body, request.body),
          principal: request.principal as Principal,
          request,
          reply,
        };
        // Before the handler, so that one may still answer otherwise (/ready's 503).
        reply.code(spec.status ?? 200);
        const result = await spec.handler(ctx);
        return spec.status === 204 ? reply.send() : result;
      },
    });
  }
}

function parse<T>(where: string, schema: z.ZodType<T> | undefined, input: unknown): T {
  if (!schema) return input as T;
  // reportInput: describeIssues tells a missing field from a wrong type by the issue's input.
  const result = schema.safeParse(input ?? (where === 'body' ? undefined : {}), { reportInput: true });
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const field = [where, ...(first?.path ?? []).map(String)].join('.');
  throw new ValidationError(describeIssues(where, result.error.issues), field);
}
