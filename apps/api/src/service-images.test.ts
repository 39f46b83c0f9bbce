import { describe, expect, it } from 'vitest';
import { serviceImagesFrom } from './service-images.ts';

describe('serviceImagesFrom', () => {
  it('reads each engine’s image from the setting its entry names', () => {
    const config = { PIER_IMAGE_POSTGRES: 'postgres:16', PIER_IMAGE_REDIS: 'localhost:5000/redis:7', PIER_LOG_LEVEL: 'info' };
    expect(serviceImagesFrom(config)).toEqual({ postgres: 'postgres:16', redis: 'localhost:5000/redis:7' });
  });

  it.each([
    [{ PIER_IMAGE_POSTGRES: 'postgres:16' }, 'PIER_IMAGE_REDIS is not set: the image of managed redis services'],
    [{ PIER_IMAGE_POSTGRES: '', PIER_IMAGE_REDIS: 'redis:7' }, 'PIER_IMAGE_POSTGRES is not set'],
  ])('a missing setting is named: %j', (config, message) => {
    expect(() => serviceImagesFrom(config)).toThrow(message);
  });
});
