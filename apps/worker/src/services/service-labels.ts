import {
  LABEL_APP,
  LABEL_ROLE,
  LABEL_SERVICE,
  LABEL_SERVICE_ID,
  MANAGED_SERVICE_MEMORY_MB,
  type ResourceLimits,
  SERVICES_APP_LABEL,
  type ServiceType,
} from '@pier/core';
import { LABEL_INSTANCE } from '../deploy/replica-spec.ts';

/** The CA whose certificate a service's container serves (its `authorityId`); absent: it serves no TLS. */
export const LABEL_SERVICE_CA = 'pier.service-ca';

const MiB = 1024 * 1024;
/** The capacity guard counts each service at this memory limit (MANAGED_SERVICE_MEMORY_MB): one figure for both. */
export const SERVICE_LIMITS: ResourceLimits = {
  memoryBytes: MANAGED_SERVICE_MEMORY_MB * MiB,
  nanoCpus: 1_000_000_000,
  pids: 1024,
};
/** Throwaway containers that check a backup: smaller, and gone within minutes. */
export const VERIFY_LIMITS: ResourceLimits = { memoryBytes: 512 * MiB, nanoCpus: 1_000_000_000, pids: 512 };

export interface ServiceIdentity {
  id: string;
  name: string;
  type: ServiceType;
  image: string;
  /** Its data volume (named when the service was created). */
  volumeName: string;
}

export function serviceLabels(service: ServiceIdentity, instance: string, role = 'service'): Record<string, string> {
  return {
    [LABEL_APP]: SERVICES_APP_LABEL,
    [LABEL_ROLE]: role,
    [LABEL_SERVICE]: service.name,
    [LABEL_SERVICE_ID]: service.id,
    [LABEL_INSTANCE]: instance,
  };
}
