import { readFile } from 'node:fs/promises';
import type { SealedSecret, SecretBox } from '@pier/core';
import { writeFileAtomically } from '@pier/proxy';
import type { LoadedCertificate } from './tls-certificates.ts';

const VERSION = 1;

interface SnapshotEntry {
  hostname: string;
  certificatePem: string;
  /** The private key, sealed with the proxy's SecretBox and bound to the hostname. */
  key: SealedSecret;
  notBefore: string;
  notAfter: string;
}

const keyContext = (hostname: string) => `proxy-certificate-snapshot:${hostname}`;

/** The certificates file kept beside the route snapshot: `<routes>.certificates.json`. */
export function certificateSnapshotPath(routeSnapshotPath: string): string {
  return routeSnapshotPath.replace(/(\.json)?$/, '.certificates.json');
}

/**
 * The last certificates loaded from Postgres, on disk, so that a proxy
 * starting while Postgres is down serves HTTPS with real certificates (as it
 * serves routes from the route snapshot). Private keys stay sealed with
 * PIER_SECRET_KEY in the file; it is written atomically, mode 600.
 */
export class CertificateSnapshot {
  constructor(
    readonly path: string,
    private readonly box: SecretBox,
  ) {}

  async save(certificates: readonly LoadedCertificate[]): Promise<void> {
    const entries: SnapshotEntry[] = certificates.map((c) => ({
      hostname: c.hostname,
      certificatePem: c.certificatePem,
      key: this.box.seal(c.privateKeyPem, keyContext(c.hostname)),
      notBefore: c.notBefore.toISOString(),
      notAfter: c.notAfter.toISOString(),
    }));
    await writeFileAtomically(
      this.path,
      `${JSON.stringify({ version: VERSION, savedAt: new Date().toISOString(), certificates: entries })}\n`,
    );
  }

  /** The saved certificates whose keys open; throws when there is no readable file. */
  async load(): Promise<LoadedCertificate[]> {
    const parsed = JSON.parse(await readFile(this.path, 'utf8')) as { version?: number; certificates?: SnapshotEntry[] };
    if (parsed.version !== VERSION || !Array.isArray(parsed.certificates))
      throw new Error(`${this.path}: not a certificate snapshot`);
    const out: LoadedCertificate[] = [];
    for (const entry of parsed.certificates) {
      try {
        out.push({
          hostname: entry.hostname,
          certificatePem: entry.certificatePem,
          privateKeyPem: this.box.open(entry.key, keyContext(entry.hostname)),
          notBefore: new Date(entry.notBefore),
          notAfter: new Date(entry.notAfter),
        });
      } catch {
        // Sealed under a key no longer configured, or tampered with: skipped.
      }
    }
    return out;
  }
}
