import { useEffect, useState } from 'preact/hooks';
import { api, path, query } from '../api.ts';
import { AppNav } from '../components/app-nav.tsx';
import { CertificateDates, CertificateState, RecordsTable } from '../components/domains-records.tsx';
import { ConfirmDialog, ErrorNote, Field, Loaded, Notice } from '../components/ui.tsx';
import { useAction, useConfirmed, useResource } from '../hooks.ts';
import type { PageProps } from '../page.ts';
import type { Domain, DomainList } from '../types-config.ts';

interface DomainWithDns extends Domain {
  dns?: { addresses: string[]; pointsHere: boolean | null; error?: string };
}

/**
 * An environment's custom domains: certificate state, expiry and next renewal, the DNS records each needs;
 * add (showing the records to create), remove (confirmed), HTTPS redirect and HSTS. Live on domains and
 * certificates.
 */
export default function DomainsPage(props: PageProps) {
  const app = props.params.app as string;
  const env = props.params.env as string;
  const [withDns, setWithDns] = useState(false);
  const domains = useResource<{ domains: DomainWithDns[]; https: DomainList['https'] }>(
    `${path`/apps/${app}/environments/${env}/domains`}${query({ dns: withDns ? '1' : undefined })}`,
    { tables: ['domains', 'certificates', 'environments'], app },
  );
  const [removed, setRemoved] = useState<string | null>(null);
  /** Bumped on each removal: the add form starts afresh, without the records of a domain that may be gone. */
  const [generation, setGeneration] = useState(0);
  const remove = useConfirmed(
    (hostname: string) => api('DELETE', path`/apps/${app}/environments/${env}/domains/${hostname}`),
    (_answer, hostname) => {
      setRemoved(hostname);
      setGeneration((g) => g + 1);
      domains.reload();
    },
  );

  return (
    <>
      <AppNav app={app} tab="domains" env={env} />
      <h2>Custom domains of {env}</h2>
      <AddDomain key={`${app}/${env}/${generation}`} app={app} env={env} onAdded={() => setRemoved(null)} />
      {removed && <Notice>Removed {removed} and its certificate.</Notice>}
      <div class="actions domains-dns">
        <button type="button" onClick={() => setWithDns(!withDns)} aria-pressed={withDns}>
          {withDns ? 'Stop checking DNS' : 'Check where each domain points'}
        </button>
        {withDns && domains.loading && <span class="muted">Resolving…</span>}
      </div>
      <Loaded resource={domains}>
        {(data) => (
          <>
            {data.domains.length === 0 ? (
              <p>No custom domains in {env} yet.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="muted">
                    {data.domains.length} domain{data.domains.length === 1 ? '' : 's'}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Domain</th>
                      <th scope="col">Certificate</th>
                      <th scope="col" class="hide-narrow">
                        Expiry and renewal
                      </th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.domains.map((d) => (
                      <DomainRow key={d.hostname} domain={d} onRemove={() => remove.ask(d.hostname)} />
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <HttpsSettings app={app} env={env} https={data.https} />
          </>
        )}
      </Loaded>
      <ConfirmDialog {...remove.dialog} title={`Remove ${remove.subject ?? ''}?`} confirmLabel="Remove domain" danger>
        <p>Pier stops serving {env} at this name and deletes its certificate. The DNS records stay at your provider.</p>
      </ConfirmDialog>
    </>
  );
}

function DomainRow(props: { domain: DomainWithDns; onRemove: () => void }) {
  const d = props.domain;
  return (
    <tr>
      <th scope="row" class="mono">
        {d.hostname}
        {d.dns && (
          <div class="muted domain-dns">
            {d.dns.error
              ? `DNS: ${d.dns.error}`
              : d.dns.pointsHere === null
                ? `DNS: ${d.dns.addresses.join(', ') || 'no address'}`
                : d.dns.pointsHere
                  ? 'DNS points here'
                  : `DNS points elsewhere (${d.dns.addresses.join(', ') || 'no address'})`}
          </div>
        )}
      </th>
      <td>
        <CertificateState certificate={d.certificate} />
      </td>
      <td class="hide-narrow">
        <CertificateDates certificate={d.certificate} />
      </td>
      <td>
        <details>
          <summary>DNS records</summary>
          <RecordsTable records={d.records} />
        </details>
        <div class="actions">
          <button type="button" aria-label={`Remove ${d.hostname}`} onClick={props.onRemove}>
            Remove
          </button>
        </div>
      </td>
    </tr>
  );
}

function AddDomain(props: { app: string; env: string; onAdded: () => void }) {
  const [hostname, setHostname] = useState('');
  const add = useAction((name: string) =>
    api<Domain>('POST', path`/apps/${props.app}/environments/${props.env}/domains`, { hostname: name }),
  );
  return (
    <section class="panel" aria-labelledby="add-domain">
      <h2 id="add-domain">Add a domain</h2>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void add.run(hostname.trim()).then((domain) => {
            if (!domain) return;
            setHostname('');
            props.onAdded();
          });
        }}
      >
        <Field label="Hostname" name="hostname" error={add.error} hint="e.g. www.example.com">
          {(attrs) => (
            <input
              {...attrs}
              required
              autocomplete="off"
              spellcheck={false}
              value={hostname}
              onInput={(e) => setHostname(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" class="primary" disabled={add.pending}>
          {add.pending ? 'Adding…' : 'Add domain'}
        </button>
      </form>
      <ErrorNote error={add.error} fields={['hostname']} />
      {add.result && (
        <div role="status">
          <p class="notice">
            Added {add.result.hostname}. Create these DNS records at its DNS provider; the certificate is ordered once they point
            here.
          </p>
          <RecordsTable records={add.result.records} caption={`DNS records for ${add.result.hostname}`} />
        </div>
      )}
    </section>
  );
}

function HttpsSettings(props: { app: string; env: string; https: DomainList['https'] }) {
  const change = useAction((body: { redirect?: boolean; hsts?: boolean }) =>
    api<DomainList['https']>('PATCH', path`/apps/${props.app}/environments/${props.env}/https`, body),
  );
  const [saved, setSaved] = useState(false);
  const { redirect, hsts } = props.https;
  // The answer of a change stands in only until the list brings newer settings (this change, or one made elsewhere).
  const pending = change.pending;
  useEffect(() => {
    if (!pending) change.reset();
  }, [redirect, hsts]);
  const https = change.result ?? props.https;
  const save = (body: { redirect?: boolean; hsts?: boolean }) => {
    setSaved(false);
    void change.run(body).then((answer) => setSaved(answer !== undefined));
  };
  return (
    <section class="panel" aria-labelledby="https-settings">
      <h2 id="https-settings">HTTPS</h2>
      <div class="field">
        <label>
          <input
            type="checkbox"
            checked={https.redirect}
            disabled={change.pending}
            onChange={(e) => save({ redirect: e.currentTarget.checked })}
          />{' '}
          Redirect plain HTTP to HTTPS once a hostname has a valid certificate
        </label>
      </div>
      <div class="field">
        <label>
          <input
            type="checkbox"
            checked={https.hsts}
            disabled={change.pending}
            onChange={(e) => save({ hsts: e.currentTarget.checked })}
          />{' '}
          Send Strict-Transport-Security (one year) on HTTPS answers
        </label>
      </div>
      {saved && <Notice>HTTPS settings saved.</Notice>}
      <ErrorNote error={change.error} />
    </section>
  );
}
