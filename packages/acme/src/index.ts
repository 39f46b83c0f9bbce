export { AcmeIssuer, type AcmeIssuerLog, type AcmeIssuerOptions } from './acme-issuer.ts';
export { type AcmeTransportOptions, configureAcmeTransport } from './acme-transport.ts';
