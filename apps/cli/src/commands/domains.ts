import { Resolver } from 'node:dns/promises';
import { path } from '../api-client.ts';
import { positionals } from '../args.ts';
import type { CommandContext, CommandSpec, Target } from '../command.ts';
import { type DnsRecord, type DnsStatus, dnsCheckText, dnsRecords } from '../dns-advice.ts';
import { printable } from '../output.ts';
import { relativeTime } from '../units-text.ts';

interface Domain {
  hostname: string;
  createdAt: string;
  /** The API's advice: a CNAME to the generated hostname, and A/AAAA to PIER_PUBLIC_IPS when the server knows them. */
  records: DnsRecord[];
  certificate: {
    state: 'pending' | 'issued' | 'failed';
    notAfter: string | null;
    valid: boolean;
    lastError: string | null;
    nextAttemptAt: string | null;
  } | null;
  dns?: DnsStatus;
}

interface DomainList {
  domains: Domain[];
  https: { redirect: boolean; hsts: boolean };
}

function domainsRoute(target: Target): string {
  return path`/apps/${target.app}/environments/${target.env}/domains`;
}

/** When the worker acts on the certificate next: its renewal once issued, else its next order attempt. */
function nextText(cert: Domain['certificate']): string {
  if (!cert?.nextAttemptAt) return '-';
  return `${cert.state === 'issued' ? 'renews' : 'retries'} ${relativeTime(cert.nextAttemptAt)}`;
}

function printDomains(ctx: CommandContext, body: DomainList, withDns: boolean): void {
  if (body.domains.length === 0) ctx.out.info('no custom domains: add one with `pier domains add <hostname>`');
  else {
    ctx.out.table(
      ['hostname', 'certificate', 'expires', 'next', ...(withDns ? ['dns'] : []), 'added'],
      body.domains.map((d) => [
        d.hostname,
        ctx.out.state(d.certificate?.state),
        relativeTime(d.certificate?.notAfter),
        d.certificate?.lastError ? ctx.out.paint.red(printable(d.certificate.lastError)) : nextText(d.certificate),
        ...(withDns ? [d.dns?.pointsHere ? 'points here' : d.dns?.addresses.length ? 'elsewhere' : 'unresolved'] : []),
        relativeTime(d.createdAt),
      ]),
    );
  }
  ctx.out.info(`https: redirect ${body.https.redirect ? 'on' : 'off'}, hsts ${body.https.hsts ? 'on' : 'off'}`);
}

const list: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  summary: 'Custom domains of the environment with their certificate state, expiry and next renewal',
  usage: ['domains list [--dns]'],
  examples: ['pier domains', 'pier domains --env production --dns'],
  options: { dns: { type: 'boolean', description: 'also check where each domain points' } },
  async run(ctx, input) {
    positionals(input, []);
    const target = await ctx.target();
    const withDns = input.options.dns === true;
    const body = await (await ctx.api()).get<DomainList>(domainsRoute(target), { dns: withDns ? 1 : undefined }, ctx.signal);
    ctx.out.result(body, () => printDomains(ctx, body, withDns));
  },
};

/** The addresses the environment's generated hostname resolves to (the server's), or none; never throws. */
async function serverAddresses(hostname: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  const found = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  return found.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
}

/**
 * The API's records; when the server does not know its public addresses
 * (PIER_PUBLIC_IPS), A/AAAA records to what the generated hostname resolves
 * to from here, for a zone's apex where a CNAME is not allowed.
 */
async function recordsToCreate(domain: Domain): Promise<DnsRecord[]> {
  const cname = domain.records.find((r) => r.type === 'CNAME');
  if (!cname || domain.records.some((r) => r.type !== 'CNAME')) return domain.records;
  return dnsRecords(domain.hostname, cname.value, await serverAddresses(cname.value));
}

function printRecords(ctx: CommandContext, records: DnsRecord[]): void {
  ctx.out.line(`Create one of these records at your DNS provider (A/AAAA where a CNAME is not allowed, at a zone's apex):`);
  ctx.out.table(
    ['type', 'name', 'value'],
    records.map((r) => [r.type, r.name, r.value]),
  );
}

const add: CommandSpec = {
  name: 'add',
  summary: 'Add a custom domain: prints the DNS record to create and whether it points here yet',
  usage: ['domains add <hostname>'],
  description: [
    'The certificate is ordered at once and retried with backoff; it is issued once the name points at this server',
    '(a name that does not point here yet is a warning, exit 0 all the same).',
    '--json prints {domain: the added domain, check: the domains with their DNS check}.',
  ].join('\n'),
  examples: ['pier domains add www.example.com', 'pier domains add shop.example.com --env production'],
  async run(ctx, input) {
    const { hostname: given } = positionals(input, ['hostname']) as { hostname: string };
    const target = await ctx.target();
    await ctx.confirmProduction(target, `serve ${given}`);
    const api = await ctx.api();
    const domain = await api.post<Domain>(domainsRoute(target), { hostname: given }, ctx.signal);
    const check = await api.get<DomainList>(domainsRoute(target), { dns: 1 }, ctx.signal);
    if (ctx.out.json) return ctx.out.printJson({ domain, check });
    ctx.out.success(`added ${domain.hostname} to ${target.app}/${target.env}`);
    printRecords(ctx, await recordsToCreate(domain));
    const result = dnsCheckText(domain.hostname, check.domains.find((d) => d.hostname === domain.hostname)?.dns);
    if (result.pointsHere) ctx.out.success(`${result.text}: its certificate is being ordered`);
    else ctx.out.warn(`${result.text}; its certificate is issued once it points here`);
  },
};

const remove: CommandSpec = {
  name: 'remove',
  aliases: ['rm'],
  summary: 'Remove a custom domain and its certificate',
  usage: ['domains remove <hostname>'],
  examples: ['pier domains remove www.example.com', 'pier domains remove shop.example.com --env production --yes'],
  async run(ctx, input) {
    const { hostname } = positionals(input, ['hostname']) as { hostname: string };
    const target = await ctx.target();
    await ctx.confirmProduction(target, `stop serving ${hostname}`);
    await (await ctx.api()).delete(`${domainsRoute(target)}${path`/${hostname}`}`);
    ctx.out.result({ hostname, removed: true }, () => ctx.out.success(`removed ${hostname} from ${target.app}/${target.env}`));
  },
};

const domains: CommandSpec = {
  ...list,
  name: 'domains',
  aliases: undefined,
  summary: 'Custom domains of the environment: list, add, remove',
  usage: ['domains [--dns]', 'domains add <hostname>', 'domains remove <hostname>'],
  subcommands: [list, add, remove],
};

export const DOMAIN_COMMANDS = [domains];
