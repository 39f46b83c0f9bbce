import type { Certificate, DnsRecord } from '../types-config.ts';
import { StateBadge } from './ui.tsx';

/** The DNS records to create at the domain's DNS provider. */
export function RecordsTable(props: { records: DnsRecord[]; caption?: string }) {
  return (
    <div class="table-wrap">
      <table class="domain-records">
        {props.caption && <caption>{props.caption}</caption>}
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {props.records.map((r) => (
            <tr key={`${r.type} ${r.value}`}>
              <td>{r.type}</td>
              <td class="mono">{r.name}</td>
              <td class="mono">{r.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const day = 86_400_000;

function dateText(at: string): string {
  return new Date(at).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

function inDays(at: string): string {
  const days = Math.round((new Date(at).getTime() - Date.now()) / day);
  if (days < 0) return `${-days} day${days === -1 ? '' : 's'} ago`;
  if (days === 0) return 'today';
  return `in ${days} day${days === 1 ? '' : 's'}`;
}

/** The certificate's state as a word (never colour alone), and why it failed. */
export function CertificateState(props: { certificate: Certificate | null }) {
  const cert = props.certificate;
  if (!cert) return <StateBadge state="pending" />;
  const state = cert.state === 'issued' && !cert.valid ? 'expired' : cert.state;
  return (
    <>
      <StateBadge state={state} />
      {cert.lastError && <div class="muted domain-error">{cert.lastError}</div>}
    </>
  );
}

/**
 * When the certificate expires and when the worker renews it (at two thirds of its life); while none is
 * issued, when the next order is tried.
 */
export function CertificateDates(props: { certificate: Certificate | null }) {
  const cert = props.certificate;
  if (cert?.notBefore && cert.notAfter) {
    const from = new Date(cert.notBefore).getTime();
    const to = new Date(cert.notAfter).getTime();
    const renewal = new Date(from + ((to - from) * 2) / 3).toISOString();
    return (
      <>
        <div>
          Expires <time dateTime={cert.notAfter}>{dateText(cert.notAfter)}</time> ({inDays(cert.notAfter)})
        </div>
        <div class="muted">
          Renews around <time dateTime={renewal}>{dateText(renewal)}</time> ({inDays(renewal)})
        </div>
      </>
    );
  }
  if (cert?.nextAttemptAt) {
    return (
      <span class="muted">
        Next attempt <time dateTime={cert.nextAttemptAt}>{new Date(cert.nextAttemptAt).toLocaleString()}</time>
      </span>
    );
  }
  if (cert?.state === 'failed') return <span class="muted">Not issued: the order failed</span>;
  return <span class="muted">Not issued yet: ordered once DNS points here</span>;
}
