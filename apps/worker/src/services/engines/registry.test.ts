import { SERVICE_TYPES, serviceEngine } from '@pier/core';
import { describe, expect, it } from 'vitest';
import { ENGINE_OPERATIONS, engineOperations } from './registry.ts';

describe('engine registry', () => {
  it('has the worker side of every engine of the core table, and nothing else', () => {
    expect(Object.keys(ENGINE_OPERATIONS).sort()).toEqual([...SERVICE_TYPES].sort());
  });

  it.each(SERVICE_TYPES)('%s implements the backup strategy and the link roles its core entry names', (type) => {
    const operations = engineOperations(type);
    expect(operations.backupStrategy).toBe(serviceEngine(type).backup.strategy);
    expect(typeof operations.syncRoles === 'function').toBe(serviceEngine(type).linkRoles);
  });

  it.each(['mysql', '', 'REDIS', 'constructor', '__proto__'])('an unknown type %j fails loudly, naming it', (type) => {
    expect(() => engineOperations(type)).toThrow(RangeError);
    expect(() => engineOperations(type)).toThrow(`unknown service type ${JSON.stringify(type)}`);
  });
});
